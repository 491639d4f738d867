"""
Inside the live Server: a log of every piece of work the reactor runs.

Loaded by bench/server_turns.py through the operator's `py` (benchmark only,
never by the game). It wraps three things on the running reactor and
Evennia's session handler:

- each read or write the reactor hands a connection (`_doReadOrWrite`), with
  the messages the read carried (who sent them, which input, the first words);
- each pass over the due timers (`runUntilCurrent`), with the timed calls it
  ran that took 50 us or more;
- `SESSION_HANDLER.data_in`, to name the messages.

Every record is (unix time, ms, "io" or "timers", protocol, [parts]), a part
(unix time, ms, who or "call", input or function, first words). `stop()`
puts the originals back.
"""

import time

MIN_CALL_MS = 0.05

RECORDS = []
_parts = []
_originals = {}


def _who(session):
    account = getattr(session, "account", None)
    return getattr(account, "key", None) or getattr(session, "uname", None) or "(not logged in)"


def _first_words(kwargs):
    try:
        return str(kwargs["text"][0][0])[:20]
    except (KeyError, IndexError, TypeError):
        return ""


def _timed_data_in(original):
    def data_in(session, **kwargs):
        started, clock = time.time(), time.perf_counter()
        try:
            return original(session, **kwargs)
        finally:
            inputs = ",".join(key for key in kwargs if key != "options")
            _parts.append((started, (time.perf_counter() - clock) * 1000, _who(session), inputs,
                           _first_words(kwargs)))
    return data_in


def _timed_read_or_write(original):
    def read_or_write(selectable, fd, event):
        started, clock = time.time(), time.perf_counter()
        try:
            return original(selectable, fd, event)
        finally:
            protocol = type(getattr(selectable, "protocol", selectable)).__name__
            RECORDS.append((started, (time.perf_counter() - clock) * 1000, "io", protocol, list(_parts)))
            _parts.clear()
    return read_or_write


def _timed_timers(original):
    def run_until_current():
        started, clock = time.time(), time.perf_counter()
        try:
            return original()
        finally:
            if _parts:
                RECORDS.append((started, (time.perf_counter() - clock) * 1000, "timers", "", list(_parts)))
            _parts.clear()
    return run_until_current


def _timed_call_later(original):
    def call_later(delay, func, *args, **kwargs):
        name = f"{getattr(func, '__module__', '') or ''}.{getattr(func, '__qualname__', type(func).__name__)}"

        def timed(*call_args, **call_kwargs):
            started, clock = time.time(), time.perf_counter()
            try:
                return func(*call_args, **call_kwargs)
            finally:
                took = (time.perf_counter() - clock) * 1000
                if took >= MIN_CALL_MS:
                    _parts.append((started, took, "call", name, ""))
        return original(delay, timed, *args, **kwargs)
    return call_later


def start():
    """Wrap the reactor and the session handler (once); return a line for the operator."""
    import evennia
    from twisted.internet import reactor

    if _originals:
        return "turnlog already running"
    handler = evennia.SERVER_SESSION_HANDLER
    _originals.update(read_or_write=reactor._doReadOrWrite, timers=reactor.runUntilCurrent,
                      call_later=reactor.callLater, data_in=handler.data_in)
    reactor._doReadOrWrite = _timed_read_or_write(_originals["read_or_write"])
    reactor.runUntilCurrent = _timed_timers(_originals["timers"])
    reactor.callLater = _timed_call_later(_originals["call_later"])
    handler.data_in = _timed_data_in(_originals["data_in"])
    return "turnlog started"


def dump(path):
    """Write the records so far to `path` (JSON) and forget them; return how many."""
    import json

    with open(path, "w") as handle:
        json.dump(RECORDS, handle)
    count = len(RECORDS)
    RECORDS.clear()
    return count


def stop():
    """Put the reactor and the session handler back as they were."""
    import evennia
    from twisted.internet import reactor

    if not _originals:
        return "turnlog not running"
    for name in ("_doReadOrWrite", "runUntilCurrent", "callLater"):
        reactor.__dict__.pop(name, None)  # the instance's wrapper; the class's method shows again
    evennia.SERVER_SESSION_HANDLER.__dict__.pop("data_in", None)
    _originals.clear()
    return "turnlog stopped"
