"""
Check specs for tests.
"""

from world.heartbeat.config import parse_check


def make_check(name="svc", kind="http", **fields):
    """A validated CheckSpec built the way settings entries are."""
    entry = {"name": name, "kind": kind, **fields}
    return parse_check(entry, 0)
