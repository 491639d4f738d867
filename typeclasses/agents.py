"""
AgentCharacter: the body of an AI agent in the world.

An agent is puppeted by its own account over the network like any player
(see agents/). What the server keeps about it is declared here: its persona,
its mode and current goal as the runtime reports them, its last decision and
error, counters, and its memory (recent events and a bounded notebook), all
persisted so they survive restarts and travel with backups.

Messages that matter to an agent's decisions (speech in its room, `talk`,
incidents given to it, service transitions in its region) are recorded as
recent events and forwarded to its session as a structured `agent_event`,
so the runtime never has to parse prose.
"""

import re
import time

from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils.utils import lazy_property

from world.heartbeat.liveness import AGENT_TAG, AGENT_TAG_CATEGORY
from world.plaintext import plain_text

from .characters import Character
from .writebehind import WriteBehindAttributeProperty, WriteBehindBuffer

RECENT_EVENTS = 20
NOTEBOOK_ENTRIES = 50
DECISION_WINDOW = 3600.0
# The fields every decision changes are written behind (typeclasses/
# writebehind.py): readers in the Server see a change at once, the database
# gets it at most this many seconds later (before a reload or shutdown, at
# once), so only a crash can lose what changed in the last few seconds.
WRITE_BEHIND_SECONDS = 10.0
_SPEECH = re.compile(r'(?:says|say)(?: to you)?,\s*"(.*)"\s*$', re.DOTALL)


class AgentCharacter(Character):
    """An AI agent's character."""

    persona = AttributeProperty("", autocreate=False)
    mode = AttributeProperty("starting", autocreate=False)
    paused = AttributeProperty(False, autocreate=False)
    current_goal = WriteBehindAttributeProperty("", autocreate=False)
    last_decision = WriteBehindAttributeProperty("", autocreate=False)
    last_reason = WriteBehindAttributeProperty("", autocreate=False)
    last_error = AttributeProperty("", autocreate=False)
    stored_last_seen = WriteBehindAttributeProperty(None, autocreate=False)
    tokens_used = WriteBehindAttributeProperty(0, autocreate=False)
    decision_times = WriteBehindAttributeProperty(list, autocreate=False)
    invalid_answers = AttributeProperty(0, autocreate=False)
    recent_events = AttributeProperty(list, autocreate=False)
    recent_decisions = WriteBehindAttributeProperty(list, autocreate=False)
    notebook = AttributeProperty(list, autocreate=False)

    def at_object_creation(self):
        super().at_object_creation()
        self.tags.add(AGENT_TAG, category=AGENT_TAG_CATEGORY)

    @lazy_property
    def write_behind(self):
        """The values of the written-behind fields not yet in the database."""
        return WriteBehindBuffer(self, WRITE_BEHIND_SECONDS)

    def at_idmapper_flush(self):
        """Write what is held before the cache forgets this object."""
        self.write_behind.flush()
        return super().at_idmapper_flush()

    @property
    def last_seen(self):
        """When the agent last showed a sign of life (epoch seconds, or None).

        Every observation and report sets it (several a second across the
        fleet), so it is written behind like the decision fields.
        """
        return self.stored_last_seen

    @last_seen.setter
    def last_seen(self, when):
        self.stored_last_seen = when

    @property
    def online(self):
        """True while the agent's runtime puppets this character."""
        return bool(self.sessions.count())

    def decisions_per_hour(self, now=None):
        """Decisions in the last hour."""
        now = now or time.time()
        return sum(1 for when in self.decision_times or [] if now - when <= DECISION_WINDOW)

    def remember(self, kind, speaker="", text="", **extra):
        """Add an event to short-term memory (bounded) and return it."""
        event = {"at": time.time(), "kind": kind, "speaker": plain_text(speaker, 40),
                 "text": plain_text(text, 300), **extra}
        self.recent_events = (list(self.recent_events or []) + [event])[-RECENT_EVENTS:]
        return event

    def record_decision(self, command, reason, mode, where=None):
        """Keep the last decisions (bounded), with where they were taken."""
        where = where if where is not None else getattr(self.location, "region_key", "") or ""
        entry = {"at": time.time(), "command": plain_text(command, 200), "reason": plain_text(reason, 120),
                 "mode": mode, "where": plain_text(where, 20)}
        self.recent_decisions = (list(self.recent_decisions or []) + [entry])[-RECENT_EVENTS:]

    def write_in_notebook(self, text):
        """Add a line to the long-term notebook (bounded)."""
        entry = {"at": time.time(), "text": plain_text(text, 300)}
        if entry["text"]:
            self.notebook = (list(self.notebook or []) + [entry])[-NOTEBOOK_ENTRIES:]

    def msg(self, text=None, from_obj=None, session=None, options=None, **kwargs):
        """Deliver as usual, noting and forwarding what matters to the agent."""
        event = self._event_from(text, from_obj, kwargs)
        if event:
            kwargs["agent_event"] = ([event], {})
        super().msg(text=text, from_obj=from_obj, session=session, options=options, **kwargs)

    def _event_from(self, text, from_obj, kwargs):
        """The structured event a message carries, if the agent should react to it."""
        if "incident" in kwargs:
            info = kwargs["incident"][0] if kwargs["incident"] else {}
            return self.remember("incident", "matrix", _text_of(text), **_safe(info))
        meta = text[1] if isinstance(text, (tuple, list)) and len(text) > 1 and isinstance(text[1], dict) else {}
        kind = meta.get("type")
        if kind in ("say", "talk") and from_obj is not None and from_obj != self:
            match = _SPEECH.search(plain_text(_text_of(text)))
            speech = match.group(1) if match else _text_of(text)
            return self.remember("talk" if kind == "talk" else "said", from_obj.key, speech)
        if kind == "transition":
            return self.remember("transition", "heartbeat", _text_of(text),
                                 service=str(meta.get("service", "")), state=str(meta.get("state", "")))
        return None

    def at_say(self, message, **kwargs):
        """Speak; an operator waiting for an answer elsewhere hears it too."""
        super().at_say(message, **kwargs)
        from world import agentfleet

        agentfleet.deliver_reply(self, message)


def _text_of(text):
    if isinstance(text, (tuple, list)):
        return str(text[0]) if text else ""
    return str(text or "")


def _safe(info):
    """Only plain scalar values from an incident notice."""
    return {str(key)[:20]: value for key, value in dict(info).items()
            if isinstance(value, (int, float, str, bool)) and key != "kind"}
