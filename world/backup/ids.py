"""
Backup ids: UTC timestamps like `20261124T051500Z`, with `-2`, `-3`, ... when
two backups start in the same second.

An id is checked against a strict pattern before it is ever joined to a path,
so `../`, slashes, dots and anything else are refused up front.
"""

import re
import time

from world.backup.errors import BackupInputError

ID_PATTERN = re.compile(r"(\d{8}T\d{6}Z)(?:-([2-9]|[1-9]\d{1,2}))?")  # always used with fullmatch
LATEST = "latest"
ID_EXAMPLE = "20261124T051500Z"


def is_valid_id(text):
    """True if `text` is a well-formed backup id (not whether it exists)."""
    match = ID_PATTERN.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return False
    try:
        time.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    return True


def check_id(text, allow_latest=False):
    """Return `text` if it is a valid id (or `latest` when allowed).

    Raises:
        BackupInputError: Malformed id; the message says what an id looks like.
    """
    if allow_latest and text == LATEST:
        return text
    if not is_valid_id(text):
        latest = " or 'latest'" if allow_latest else ""
        raise BackupInputError(f"That is not a backup id (ids look like {ID_EXAMPLE}{latest}).")
    return text


def id_for_time(timestamp):
    """The base id for a UTC unix time: 20261124T051500Z."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(timestamp))


def new_id(timestamp, taken):
    """A fresh id for `timestamp` that is not in `taken` (a set of names)."""
    base = id_for_time(timestamp)
    if base not in taken:
        return base
    for suffix in range(2, 1000):
        candidate = f"{base}-{suffix}"
        if candidate not in taken:
            return candidate
    raise BackupInputError("Too many backups in one second.")


def id_sort_key(backup_id):
    """Sort key: time, then suffix number."""
    match = ID_PATTERN.fullmatch(backup_id)
    return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)
