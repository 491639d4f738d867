"""
What happened to a backup after it was made: the sidecar records.

The manifest is immutable, so results that come later are kept in small JSON
files beside it in the backup's folder, each written atomically (0600):

    verify.json   the latest verification: ok, when, problems
    drill.json    the latest DR drill: ok, when, what was checked

One file per kind of result means a verification and a drill running at the
same time never overwrite each other's record. The server and the CLI read
and write the same files, so both see the same state without the database.
"""

import os
import time

from world.backup.fsutil import read_json, write_json_private

VERIFY_NAME = "verify.json"
DRILL_NAME = "drill.json"
SIDECARS = (VERIFY_NAME, DRILL_NAME)


def write_record(folder, name, ok, **details):
    """Record a result (`ok` plus details) as the latest of its kind."""
    record = {"ok": bool(ok), "at": time.time(), **details}
    write_json_private(os.path.join(folder, name), record)
    return record


def read_record(folder, name):
    """The latest record of a kind, or None if there is none (or it is unreadable)."""
    record = read_json(os.path.join(folder, name))
    if not isinstance(record, dict) or not isinstance(record.get("ok"), bool):
        return None
    return record
