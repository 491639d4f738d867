"""
The agents' activity ledger: what each agent did, per UTC day.

An agent's own memory is bounded (typeclasses/agents.py): `decision_times`
keeps about the last hour, `recent_decisions` the last 20 and `notebook` the
last 50 entries. A report made at 06:00 for the day before would find most
of that day gone, so the report Script copies what is new into this ledger
every minute (`observe`), and reports read the ledger.

The ledger is plain data (kept in an Attribute of the report Script):

    {"marks": {agent: {"decision": t, "recorded": t, "note": t}},   # newest seen
     "days": {"YYYY-MM-DD": {agent: {"decisions": n, "recorded": [...],
                                     "notes": [...], "goal": s, "mode": s,
                                     "tokens": n}}}}

`observe` never counts an entry twice (the marks) and keeps LEDGER_DAYS days.
Text is cleaned with plain_text when it enters.
"""

import copy
import datetime

from world.presentation import plain_text
from world.report.days import day_of, day_text

LEDGER_DAYS = 9
RECORDED_PER_DAY = 20
NOTES_PER_DAY = 10
TEXT_LIMITS = {"command": 120, "reason": 120, "where": 20, "mode": 20, "note": 300, "goal": 80}


def snapshot(agent):
    """What the ledger needs of one AgentCharacter, as plain data (ORM read)."""
    return {
        "name": agent.key,
        "decision_times": [t for t in (agent.decision_times or []) if isinstance(t, (int, float))],
        "recent_decisions": [dict(entry) for entry in (agent.recent_decisions or []) if _timed(entry)],
        "notebook": [dict(entry) for entry in (agent.notebook or []) if _timed(entry)],
        "goal": agent.current_goal or "",
        "mode": agent.mode or "",
        "tokens": agent.tokens_used if isinstance(agent.tokens_used, int) else 0,
    }


def live_snapshots():
    """A snapshot of every AgentCharacter, by name order."""
    from world.agentfleet import agent_characters

    return [snapshot(agent) for _name, agent in sorted(agent_characters().items())]


def _timed(entry):
    return hasattr(entry, "get") and isinstance(entry.get("at"), (int, float))


def observe(ledger, snapshots, now):
    """Add what is new in the agents' memories to (a copy of) the ledger.

    Args:
        ledger (dict or None): The ledger so far.
        snapshots (list): From `snapshot`.
        now (float): Unix time; the goal, mode and token total are noted
            for this day.

    Returns:
        dict: The new ledger (the one given is not changed).
    """
    ledger = copy.deepcopy(dict(ledger or {}))
    marks = ledger.setdefault("marks", {})
    days = ledger.setdefault("days", {})
    for agent in snapshots:
        name = agent["name"]
        mark = marks.setdefault(name, {"decision": 0.0, "recorded": 0.0, "note": 0.0})
        mark["decision"] = _count_decisions(days, name, agent["decision_times"], mark["decision"])
        mark["recorded"] = _add_entries(days, name, "recorded", agent["recent_decisions"], mark["recorded"],
                                        _recorded_entry, RECORDED_PER_DAY)
        mark["note"] = _add_entries(days, name, "notes", agent["notebook"], mark["note"],
                                    _note_entry, NOTES_PER_DAY)
        entry = _day_entry(days, day_of(now), name)
        entry["goal"] = plain_text(agent["goal"], TEXT_LIMITS["goal"])
        entry["mode"] = plain_text(agent["mode"], TEXT_LIMITS["mode"])
        entry["tokens"] = int(agent["tokens"] or 0)
    _forget_old_days(days, day_of(now))
    return ledger


def _day_entry(days, day, name):
    agents = days.setdefault(day_text(day), {})
    return agents.setdefault(name, {"decisions": 0, "recorded": [], "notes": [], "goal": "", "mode": "",
                                    "tokens": None})


def _count_decisions(days, name, times, mark):
    newest = mark
    for when in sorted(times):
        if when > mark:
            _day_entry(days, day_of(when), name)["decisions"] += 1
            newest = max(newest, when)
    return newest


def _add_entries(days, name, field, entries, mark, clean, limit):
    newest = mark
    for entry in sorted(entries, key=lambda item: item["at"]):
        if entry["at"] > mark:
            kept = _day_entry(days, day_of(entry["at"]), name)[field]
            kept.append(clean(entry))
            del kept[:-limit]
            newest = max(newest, entry["at"])
    return newest


def _recorded_entry(entry):
    return {"at": float(entry["at"]),
            **{key: plain_text(entry.get(key, ""), TEXT_LIMITS[key]) for key in ("command", "reason", "where",
                                                                                "mode")}}


def _note_entry(entry):
    return {"at": float(entry["at"]), "text": plain_text(entry.get("text", ""), TEXT_LIMITS["note"])}


def _forget_old_days(days, current):
    oldest = day_text(current - datetime.timedelta(days=LEDGER_DAYS - 1))
    for key in [key for key in days if key < oldest]:
        del days[key]


def tokens_that_day(ledger, day, name):
    """Tokens an agent used during `day`, if the ledger saw that day and an earlier one; else None.

    The ledger notes each agent's running total once a minute, so this is
    the day's last total minus the previous recorded day's (approximate by
    up to a minute at each end).
    """
    days = (ledger or {}).get("days", {})
    key = day_text(day)
    end = days.get(key, {}).get(name, {}).get("tokens")
    earlier = [d for d in days if d < key and days[d].get(name, {}).get("tokens") is not None]
    if end is None or not earlier:
        return None
    start = days[max(earlier)][name]["tokens"]
    return end - start if end >= start else None
