"""
What a fire drill checks was not lost: a snapshot of the world's records,
read straight from its SQLite database on a read-only connection (what an
operator gets with `sqlite3 server/evennia.db3`; it never goes through the
game's code), and the comparison of two snapshots.

A snapshot holds the account names, every incident with its timeline
events, the escalation outbox, the heartbeat history (every sample) and
each agent's memory (notebook, recent events, recent decisions, tokens).
`lost(before, after)` lists what `before` had that `after` does not, with
one allowance: an agent's memory lists are bounded and roll (the oldest
entries leave as new ones come), so an entry that left that way is not lost.
A notification dead-lettered in the outbox after `before` is lost (it will
never reach Gitea).
"""

import base64
import io
import json
import pickle
import sqlite3
import time
from dataclasses import dataclass, field

MEMORY_LISTS = ("notebook", "recent_events", "recent_decisions")
MEMORY_KEYS = MEMORY_LISTS + ("tokens_used",)
AGENT_TYPECLASS = "typeclasses.agents.AgentCharacter"


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles plain data only (what agent memory is); anything else is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"not plain data: {module}.{name}")


def _decode_attribute(text):
    """An Evennia attribute value (base64 pickle) as plain data, or None if it is not plain."""
    try:
        return _PlainUnpickler(io.BytesIO(base64.b64decode(text))).load()
    except Exception:  # anything that is not plain data is not memory we can compare
        return None


@dataclass
class Snapshot:
    """The world's records at one instant (see the module docstring)."""

    taken_at: float
    accounts: set = field(default_factory=set)
    incidents: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    outbox: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)

    def describe(self):
        """One line: what was counted."""
        entries = sum(len(lists.get(key) or []) for lists in self.memory.values() for key in MEMORY_LISTS)
        return (f"{len(self.accounts)} accounts, {len(self.incidents)} incidents with {len(self.events)} events,"
                f" {len(self.outbox)} outbox messages, {len(self.samples)} heartbeat samples,"
                f" {len(self.memory)} agents' memory ({entries} entries)")


def _connect(path, immutable):
    """A read-only connection; `immutable` for a file nobody writes (a backup, a stopped world)."""
    flag = "immutable=1" if immutable else "mode=ro"
    connection = sqlite3.connect(f"file:{path}?{flag}", uri=True, timeout=20)
    connection.execute("PRAGMA query_only=1")
    return connection


def snapshot(path, immutable=False):
    """Read a snapshot from the database at `path`.

    Args:
        path (str): The SQLite file.
        immutable (bool): True for a file no process writes (a backup's
            copy, or the database of a stopped world).
    """
    connection = _connect(path, immutable)
    try:
        with connection:  # one read transaction: a consistent view
            return _read(connection)
    finally:
        connection.close()


def _read(db):
    taken = Snapshot(time.time())
    taken.accounts = {row[0] for row in db.execute("SELECT username FROM accounts_accountdb")}
    taken.incidents = {row[0]: tuple(row[1:]) for row in db.execute(
        "SELECT id, fingerprint, severity, opened_at FROM world_incident")}
    taken.events = {row[0]: tuple(row[1:]) for row in db.execute(
        "SELECT id, incident_id, kind, at, actor FROM world_incidentevent")}
    taken.outbox = {row[0]: tuple(row[1:]) for row in db.execute(
        "SELECT id, incident_id, kind, state FROM world_outboxmessage")}
    taken.samples = {row[0]: tuple(row[1:]) for row in db.execute(
        "SELECT id, service, checked_at FROM world_heartbeatsample")}
    taken.memory = _read_memory(db)
    return taken


def _read_memory(db):
    keys = ",".join("?" * len(MEMORY_KEYS))
    rows = db.execute(
        "SELECT o.db_key, a.db_key, a.db_value FROM objects_objectdb o"
        " JOIN objects_objectdb_db_attributes link ON link.objectdb_id = o.id"
        " JOIN typeclasses_attribute a ON a.id = link.attribute_id"
        f" WHERE o.db_typeclass_path = ? AND a.db_key IN ({keys})",
        (AGENT_TYPECLASS, *MEMORY_KEYS))
    memory = {}
    for agent, key, value in rows:
        memory.setdefault(agent, {})[key] = _decode_attribute(value) if value else None
    return memory


# ------------------------------------------------------------------ compare


def lost(before, after):
    """What `before` had that `after` lacks, as short lines (empty: nothing lost)."""
    problems = []
    missing = sorted(before.accounts - after.accounts)
    if missing:
        problems.append(f"accounts: {', '.join(missing)}")
    problems += _missing_rows("incidents", before.incidents, after.incidents)
    problems += _missing_rows("incident events", before.events, after.events)
    problems += _missing_rows("outbox messages", before.outbox, after.outbox)
    problems += _missing_rows("heartbeat samples", before.samples, after.samples)
    problems += _dead_letters(before.outbox, after.outbox)
    for agent in sorted(before.memory):
        problems += _memory_lost(agent, before.memory[agent], after.memory.get(agent))
    return problems


def _missing_rows(label, before, after):
    """Rows gone, or changed in what identifies them (an outbox row's state may change)."""
    gone = [key for key in before if key not in after]
    changed = [key for key in before if key in after and _identity(label, before[key]) != _identity(label, after[key])]
    lines = []
    if gone:
        lines.append(f"{len(gone)} {label} (ids {_ids(gone)})")
    if changed:
        lines.append(f"{len(changed)} {label} replaced by other rows (ids {_ids(changed)})")
    return lines


def _identity(label, row):
    return row[:-1] if label == "outbox messages" else row  # (incident, kind[, state])


def _ids(keys, limit=8):
    keys = sorted(keys)
    text = ", ".join(str(key) for key in keys[:limit])
    return text + (", ..." if len(keys) > limit else "")


def _dead_letters(before, after):
    dead = [key for key, row in after.items() if row[-1] == "dead" and (key not in before or before[key][-1] != "dead")]
    return [f"{len(dead)} Gitea notifications dead-lettered (outbox ids {_ids(dead)})"] if dead else []


def _memory_lost(agent, before, after):
    if after is None:
        return [f"{agent}'s memory (the character or its attributes are gone)"]
    lines = []
    for key in MEMORY_LISTS:
        gone = _rolled_off_or_lost(before.get(key) or [], after.get(key) or [])
        if gone:
            lines.append(f"{agent}'s {key.replace('_', ' ')}: {gone} entries")
    if (after.get("tokens_used") or 0) < (before.get("tokens_used") or 0):
        lines.append(f"{agent}'s token count went back from {before.get('tokens_used')} to {after.get('tokens_used')}")
    return lines


def _rolled_off_or_lost(before, after):
    """How many entries of `before` are lost in `after` (entries that rolled off the bound are not)."""
    kept = {_entry_key(entry) for entry in after}
    missing = [index for index, entry in enumerate(before) if _entry_key(entry) not in kept]
    rolled_off = missing == list(range(len(missing))) and len(after) >= len(before)
    return 0 if rolled_off else len(missing)


def _entry_key(entry):
    return json.dumps(entry, sort_keys=True, default=str)


def written_between(older, newer):
    """What `newer` has that `older` does not (e.g. written after a backup), as a short line."""
    parts = []
    for label, attr in (("heartbeat samples", "samples"), ("incident events", "events"),
                        ("incidents", "incidents"), ("outbox messages", "outbox")):
        count = len(set(getattr(newer, attr)) - set(getattr(older, attr)))
        if count:
            parts.append(f"{count} {label}")
    entries = 0
    for agent, lists in newer.memory.items():
        old = older.memory.get(agent) or {}
        for key in MEMORY_LISTS:
            known = {_entry_key(entry) for entry in old.get(key) or []}
            entries += sum(1 for entry in lists.get(key) or [] if _entry_key(entry) not in known)
    if entries:
        parts.append(f"{entries} agent memory entries")
    return ", ".join(parts) or "nothing"


# ------------------------------------------------------------ the record


def _rows(path, sql, params=()):
    connection = _connect(path, immutable=False)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


def incidents_since(path, since):
    """Incidents opened at or after `since`, or with timeline events since then, each with its events."""
    incidents = _rows(path, "SELECT * FROM world_incident WHERE opened_at >= ? OR id IN"
                            " (SELECT incident_id FROM world_incidentevent WHERE at >= ?) ORDER BY id",
                      (since, since))
    for incident in incidents:
        incident["events"] = _rows(path, "SELECT at, kind, actor, text FROM world_incidentevent"
                                         " WHERE incident_id = ? ORDER BY at, id", (incident["id"],))
    return incidents


def incident(path, incident_id):
    """One incident row as a dict, or None."""
    found = _rows(path, "SELECT * FROM world_incident WHERE id = ?", (incident_id,))
    return found[0] if found else None


def recovery_runs_since(path, since):
    """Recovery runs started at or after `since` (scenario, trigger, who, state, times)."""
    return _rows(path, 'SELECT id, scenario, target, started_by, "trigger", state, started_at, finished_at, summary'
                       " FROM world_recoveryrun WHERE started_at >= ? ORDER BY id", (since,))


def outbox_since(path, since):
    """Outbox messages created at or after `since`."""
    return _rows(path, "SELECT id, incident_id, kind, state, attempts, last_error, created_at, sent_at"
                       " FROM world_outboxmessage WHERE created_at >= ? ORDER BY id", (since,))
