"""
The world's global Scripts, found without a database query on every use.

`evennia.GLOBAL_SCRIPTS.get(key)` queries the Script table and checks the
stored settings hash every time it is called. The heartbeat's Script is read
on every `look` in a region, by `@status` and by every agent observation;
bench/latency.py measured that lookup as a third of a region `look` once the
command-set merge was cheap (commands/cmdsetindex.py).

`global_script(key)` asks Evennia once and remembers the instance (the same
one the idmapper cache holds). It is forgotten, and looked up anew, when the
Script is deleted (Django clears its pk) or when the idmapper cache is
flushed (`Script.at_idmapper_flush` in typeclasses/scripts.py): a flush is
what ends a test, after which the database row may be gone with the test's
transaction, and what Evennia does when it trims its caches.
"""

_REMEMBERED = {}


def global_script(key):
    """The global Script `key` (created on first use, as GLOBAL_SCRIPTS does).

    Args:
        key (str): A key of settings.GLOBAL_SCRIPTS.

    Returns:
        Script or None: None if Evennia cannot load or create it.
    """
    script = _REMEMBERED.get(key)
    if script is not None and script.pk is not None:
        return script
    import evennia

    script = evennia.GLOBAL_SCRIPTS.get(key)
    if script is not None:
        _REMEMBERED[key] = script
    else:
        _REMEMBERED.pop(key, None)
    return script


def forget(script):
    """Drop `script` from memory if it is the one remembered under its key."""
    key = getattr(script, "db_key", None)
    if _REMEMBERED.get(key) is script:
        del _REMEMBERED[key]
