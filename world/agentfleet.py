"""
The agents, as the server sees them: accounts and characters, credentials,
observations, reports from the runtime, talk, and the operator's controls.

The agent runtime (agents/) logs in over the network and talks to the server
through two input functions (server/conf/inputfuncs.py):

    ["agent_observe", [], {}]          -> ["agent_observation", [observation], {...}]
    ["agent_report", [], {report}]     the runtime's mode, goal, decision, error, tokens

and receives ["agent_event", [event], {}] (speech, talk, incidents,
transitions) and ["agent_control", [{"command": ...}], {}] (pause, resume,
restart) on its session.
"""

import json
import os
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from evennia.utils import delay, logger

from world.plaintext import plain_text

AGENT_TYPECLASS = "typeclasses.agents.AgentCharacter"
CONTROL_COMMANDS = ("pause", "resume", "restart", "autonomy", "relink")
MODES = ("starting", "llm", "planner", "hybrid", "autonomy", "paused")


def load_fleet():
    """The personas, with the model/strategy overrides from settings."""
    from agents.personas import load_personas

    return load_personas(
        settings.TIMMY_PERSONAS_FILE,
        default_model=settings.TIMMY_AGENT_MODEL or None,
        models=settings.TIMMY_AGENT_MODELS,
        strategies=settings.TIMMY_AGENT_STRATEGIES,
    )


def agent_characters():
    """Every AgentCharacter, by name."""
    from typeclasses.agents import AgentCharacter

    return {agent.key: agent for agent in AgentCharacter.objects.all()}


def agents_in_memory():
    """The AgentCharacters the Server holds in memory, without a query.

    Every online agent is among them (the puppets of the live sessions, and
    whatever Evennia's object cache holds); an offline one may not be.
    Observations use this: they run for every decision of every agent, and
    the query `agent_characters()` makes was a fifth of an observation's cost
    on the reactor.
    """
    from evennia.server.sessionhandler import SESSION_HANDLER

    from typeclasses.agents import AgentCharacter

    found = {obj.pk: obj for obj in AgentCharacter.get_all_cached_instances() if isinstance(obj, AgentCharacter)}
    for session in SESSION_HANDLER.values():
        puppet = getattr(session, "puppet", None)
        if isinstance(puppet, AgentCharacter):
            found.setdefault(puppet.pk, puppet)
    return list(found.values())


def find_agent(name):
    """The AgentCharacter called `name` (case-insensitive), or None."""
    wanted = (name or "").strip().lower()
    for key, agent in agent_characters().items():
        if key.lower() == wanted:
            return agent
    return None


# ---------------------------------------------------------------- accounts


def read_credentials():
    """{name: password} from the git-ignored credentials file ({} if none)."""
    try:
        with open(settings.TIMMY_AGENT_CREDENTIALS) as handle:
            return dict(json.load(handle))
    except (OSError, ValueError):
        return {}


def write_credentials(credentials):
    """Write the credentials file atomically with mode 0600."""
    path = settings.TIMMY_AGENT_CREDENTIALS
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True)
class CredentialPlan:
    """The agents' passwords for one build: the credentials file's, and a new one for each persona without."""

    passwords: dict
    new: frozenset


def plan_credentials():
    """Read the credentials file and make a password for each persona it lacks (nothing is written yet)."""
    passwords = read_credentials()
    new = set()
    for persona in load_fleet():
        if persona.name not in passwords:
            passwords[persona.name] = secrets.token_urlsafe(18)
            new.add(persona.name)
    return CredentialPlan(passwords, frozenset(new))


def passwords_to_hash(plan):
    """The passwords `ensure_agents(plan=plan)` will store: for a missing account, or a new password.

    A running Server hashes them in a worker thread first (world/builder.py
    `build_world_in_game`); each is a PBKDF2 hash of about 0.27 s.
    """
    from evennia.accounts.models import AccountDB

    wanted = []
    for persona in load_fleet():
        if persona.name in plan.new or not AccountDB.objects.filter(username__iexact=persona.name).exists():
            wanted.append(plan.passwords[persona.name])
    return wanted


def ensure_agents(report=None, plan=None):
    """Create, idempotently, an Account and an AgentCharacter per persona.

    A password is generated only for an agent that has none in the
    credentials file (then the account's password is set to it), so running
    this again changes nothing.

    Args:
        report (BuildReport, optional): Gets the lines too.
        plan (CredentialPlan, optional): The passwords to use (default: a new
            `plan_credentials()`); a build that hashed them beforehand passes
            the plan it hashed.

    Returns:
        list: Lines saying what was created or repaired.
    """
    from world.builder import find_region

    plan = plan or plan_credentials()
    done = []
    for persona in load_fleet():
        account, created = _ensure_account(persona, plan.passwords[persona.name], persona.name in plan.new)
        if created:
            done.append(f"account {persona.name}")
        line = _ensure_character(account, persona, find_region(persona.home))
        if line:
            done.append(line)
    if plan.new:
        write_credentials(plan.passwords)
    if report is not None:
        report.created.extend(done)
    return done


def _ensure_account(persona, password, password_is_new):
    from evennia.accounts.models import AccountDB
    from evennia.utils import create

    account = AccountDB.objects.filter(username__iexact=persona.name).first()
    if account is None:
        account = create.create_account(persona.name, email="", password=password,
                                        typeclass=settings.BASE_ACCOUNT_TYPECLASS,
                                        permissions=[persona.permission])
        account.tags.add("agent", category="timmy_role")
        return account, True
    if password_is_new:
        account.set_password(password)
        account.save()
    return account, False


def _ensure_character(account, persona, home):
    """Make sure `account` has its agent's character; returns a line for the report if anything was done."""
    existing = [char for char in account.characters.all() if char.key == persona.name]
    if existing:
        character = existing[0]
        if character.persona != persona.name:
            character.persona = persona.name
        return None
    orphan = _orphan_character(persona)
    if orphan is not None:
        _adopt(account, orphan)
        orphan.persona = persona.name
        return f"agent {persona.name} (kept, given to its new account)"
    character, errors = account.create_character(
        key=persona.name, typeclass=AGENT_TYPECLASS, location=home, home=home,
        permissions=[persona.permission],
        description=plain_text(persona.description),
    )
    if errors:
        raise RuntimeError(f"could not create agent {persona.name}: {errors}")
    character.persona = persona.name
    return f"agent {persona.name}"


def _orphan_character(persona):
    """The persona's AgentCharacter when its account does not have it (that account was deleted), or None.

    Deleting an Account leaves its characters. Evennia then refuses to make
    another character of the same name, so without this every later build
    failed at that agent. Called only when the persona's account lacks the
    character, so one found by name belongs to no one.
    """
    from typeclasses.agents import AgentCharacter

    return AgentCharacter.objects.filter(db_key__iexact=persona.name).first()


def _adopt(account, character):
    """Give `character` to `account` as Evennia's create_character would: its list and the puppet locks."""
    account.characters.add(character)
    character.locks.add(type(character).get_default_lockstring(account=account, character=character.id))


# ------------------------------------------------------------ observation


def observation_for(character, now=None):
    """What an agent perceives: a plain dict (see agents/observation.py).

    Bounded: a few exits, people, recent events, services, incidents.
    """
    from world import servicestate
    from world.heartbeat.service import heartbeat_age
    from world.incidents.core import open_incident_views
    from world.status_report import service_names

    now = now or time.time()
    room = character.location
    return {
        "agent": character.key,
        "on_duty": settings.INCIDENT_ON_DUTY,
        "mode": character.mode,
        "paused": bool(character.paused),
        "location": getattr(room, "region_key", "") or "",
        "location_name": room.key if room else "",
        "exits": [exit_obj.key for exit_obj in (room.exits if room else [])][:10],
        "present": [obj.key for obj in (room.contents if room else [])
                    if obj != character and (obj.has_account or getattr(obj, "persona", ""))][:20],
        "agents": {agent.key: (getattr(agent.location, "region_key", None) if agent.online else None)
                   for agent in agents_in_memory() if agent != character},
        "said": [{"speaker": event["speaker"], "text": event["text"]}
                 for event in (character.recent_events or []) if event.get("kind") in ("said", "talk")][-10:],
        "services": {state.name: state.state for state in servicestate.current_many(service_names())},
        "incidents": open_incident_views(limit=10),
        "backup_age": _backup_age(),
        "heartbeat_age": heartbeat_age(now),
    }


def answer_observation(session, agent, reactor=None):
    """Send an agent's session what its character perceives, in two turns of the reactor.

    One turn works the observation out, the next sends it: the send (Evennia
    packs the message for the Portal and writes it) was about a third of an
    observation's time on the reactor, and an operator's command read
    between the two turns runs between them instead of after both (README,
    "Latency", finding 27). A session gone by the second turn is sent nothing.

    Args:
        session (ServerSession): The agent runtime's session.
        agent (AgentCharacter): The character it puppets.
        reactor (IReactorTime, optional): Where the turns come from (tests pass a clock).

    Returns:
        Deferred: Fires with None once sent or skipped; a failure is logged.
    """
    from world.reactorturns import in_turns

    seen = []
    steps = in_turns([lambda: seen.append(observation_for(agent)),
                      lambda: _send_observation(session, seen[0])], reactor=reactor)
    steps.addErrback(_observation_failed, agent.key)
    return steps


def _send_observation(session, observation):
    from evennia.server.sessionhandler import SESSION_HANDLER

    if SESSION_HANDLER.get(session.sessid) is session:
        session.msg(agent_observation=([observation], {}))


def _observation_failed(failure, name):
    logger.log_trace(f"Observation for {name} failed: {failure.getErrorMessage()}")


def _backup_age():
    """Age in seconds of the latest backup, as the heartbeat last saw it (None: no backup)."""
    from world.heartbeat.service import decoded_memory, heartbeat_script

    script = heartbeat_script()
    latest = decoded_memory(script)[0].get("backup") if script else None
    return (latest or {}).get("details", {}).get("age")


# ---------------------------------------------------------------- reports

REPORT_LIMITS = {"goal": 80, "decision": 200, "reason": 200, "error": 200, "note": 300}


def apply_report(character, report, now=None):
    """Record what the runtime says about its agent (validated and bounded).

    Runs on the reactor for every decision of every agent, and each Attribute
    write is a database save there: a value the report repeats (the same
    goal, mode or reason) is not written again.
    """
    now = now or time.time()
    character.last_seen = now
    mode = report.get("mode")
    if mode in MODES and mode != character.mode:
        if mode == "autonomy":
            character.write_in_notebook("Lost my model; working on the planner (autonomy mode).")
        character.mode = mode
    if "goal" in report:
        _store_changed(character, "current_goal", plain_text(report["goal"], REPORT_LIMITS["goal"]))
    if report.get("decision"):
        _record_decision(character, report, now)
    if "error" in report:
        _store_changed(character, "last_error", plain_text(report["error"], REPORT_LIMITS["error"]))
    if report.get("invalid"):
        character.invalid_answers = (character.invalid_answers or 0) + 1
    tokens = report.get("tokens")
    if isinstance(tokens, int) and 0 < tokens < 1_000_000:
        character.tokens_used = (character.tokens_used or 0) + tokens
    if report.get("note"):
        character.write_in_notebook(report["note"])


def _record_decision(character, report, now):
    """The last decision and its reason, the decision times and the remembered decisions."""
    decision = plain_text(report["decision"], REPORT_LIMITS["decision"])
    reason = plain_text(report.get("reason", ""), REPORT_LIMITS["reason"])
    _store_changed(character, "last_decision", decision)
    _store_changed(character, "last_reason", reason)
    character.decision_times = [when for when in (character.decision_times or [])
                                if now - when <= 3600][-500:] + [now]
    if decision != "wait":  # waiting is not worth remembering
        where = report.get("where") if isinstance(report.get("where"), str) else None
        character.record_decision(decision, reason, character.mode, where)


def _store_changed(character, field, value):
    """Set an AttributeProperty only when the value differs from the stored one."""
    if getattr(character, field) != value:
        setattr(character, field, value)


# -------------------------------------------------------------------- talk


def talk(speaker, agent, text):
    """An operator speaks to an agent, wherever it is; the agent will answer."""
    speech = plain_text(text, 300)
    agent.ndb.awaiting_reply = speaker
    agent.ndb.awaiting_since = time.time()
    agent.msg(text=(f'{speaker.key} says to you, "{speech}"', {"type": "talk"}), from_obj=speaker)
    delay(settings.TIMMY_AGENT_THINKING_AFTER, _thinking, agent, speaker, agent.ndb.awaiting_since)
    return speech


def _thinking(agent, speaker, since):
    """Say the agent is thinking if it has not answered yet."""
    if agent.ndb.awaiting_reply == speaker and agent.ndb.awaiting_since == since:
        speaker.msg(f"{agent.key} is thinking…")


def deliver_reply(agent, message):
    """When an agent speaks, an operator waiting for its answer elsewhere hears it."""
    speaker = agent.ndb.awaiting_reply
    if speaker is None:
        return
    agent.ndb.awaiting_reply = None
    if speaker.location != agent.location:
        speaker.msg(text=(f'{agent.key} says to you, "{plain_text(message, 300)}"', {"type": "say"}),
                    from_obj=agent)


# ---------------------------------------------------------------- control


def control(agent, command):
    """Pause, resume or restart an agent's runtime, or force autonomy / re-link it.

    `autonomy` makes the runtime decide from its planner until `relink`
    (recovery's orphan playbook). Returns True if the agent's session was told.
    """
    if command not in CONTROL_COMMANDS:
        raise ValueError(f"unknown control {command!r}")
    if command == "pause":
        agent.paused, agent.mode = True, "paused"
    elif command == "resume":
        agent.paused = False
        agent.mode = "starting"
    if not agent.online:
        logger.log_info(f"Agent {agent.key} is offline; '{command}' will apply when it connects.")
        return False
    for session in agent.sessions.all():
        session.msg(agent_control=([{"command": command}], {}))
    return True
