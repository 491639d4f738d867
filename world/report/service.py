"""
Making, keeping and finding daily reports without blocking the reactor.

On the reactor (the Script, `@report`) the disk work (reading the backup
folder, reading and writing report files) runs in a worker thread through
`deferToThread`, and the ORM reads (build.collect) run in the callbacks,
back on the reactor thread. The web page runs in Django's own thread and
uses the synchronous `page_report`.

A day that is over is shown as it was kept (its stored facts) when a report
was kept for it; otherwise, and always for today, the report is made from
what the world still knows.
"""

import time

from twisted.internet.threads import deferToThread

from world.globalscripts import global_script
from world.report import activity, build, render, store
from world.report.days import today

SCRIPT_KEY = "daily_report"


def report_script():
    """The daily report Script, or None when it does not exist."""
    return global_script(SCRIPT_KEY)


def current_ledger():
    """The agents' activity ledger kept by the Script ({} without one)."""
    from evennia.utils.dbserialize import deserialize

    script = report_script()
    ledger = script.attributes.get("activity") if script is not None else None
    return deserialize(ledger) if ledger else {}


def usable(facts):
    """The facts if they can be shown, else None (a damaged or hand-edited file)."""
    if facts is None:
        return None
    try:
        render.display(facts)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None
    return facts


# ------------------------------------------------------------ on the reactor


def generate(day, now=None, ledger=None):
    """Make the report of `day` from the data.

    Returns:
        Deferred: Fires with the facts (build.collect).
    """
    now = time.time() if now is None else now
    deferred = deferToThread(build.scan_backups)
    deferred.addCallback(lambda backups: build.collect(
        day, now, backups=backups, ledger=current_ledger() if ledger is None else ledger))
    return deferred


def make_daily_report(day, now=None, ledger=None):
    """Make the report of `day` and keep it (Markdown and facts files).

    Returns:
        Deferred: Fires with (path of the Markdown file, facts).
    """
    folder = store.report_dir()

    def keep(facts):
        written = deferToThread(store.write_report, folder, day, facts, render.markdown(facts))
        return written.addCallback(lambda path: (path, facts))

    return generate(day, now, ledger).addCallback(keep)


def find_report(day=None, now=None):
    """The report of `day` (today by default): the kept one, else a new one.

    Returns:
        Deferred: Fires with {"facts": dict or None, "markdown": str or None,
            "stored": bool}; "facts" is None only when a kept Markdown file
            is all there is.
    """
    now = time.time() if now is None else now
    day = day or today(now)
    if day >= today(now):
        return generate(day, now).addCallback(lambda facts: {"facts": facts, "markdown": None, "stored": False})
    folder = store.report_dir()

    def chosen(kept):
        facts = usable(kept["facts"])
        if facts is not None or kept["markdown"] is not None:
            return {"facts": facts, "markdown": kept["markdown"], "stored": True}
        return generate(day, now).addCallback(lambda new: {"facts": new, "markdown": None, "stored": False})

    return deferToThread(store.load, folder, day).addCallback(chosen)


def report_text(day=None, now=None):
    """The report of `day` as in-game text.

    Returns:
        Deferred: Fires with the text (Evennia markup).
    """
    return find_report(day, now).addCallback(text_of)


def text_of(found):
    """In-game text for what `find_report` found, with a line saying where it came from."""
    if found["facts"] is None:
        escaped = found["markdown"].replace("|", "||")
        return f"{escaped}\n|x(The kept Markdown file of that day; its facts file is missing.)|n"
    body = render.text(found["facts"])
    if found["stored"]:
        return f"{body}\n|x(As kept when the day was over.)|n"
    if found["facts"]["complete"]:
        return f"{body}\n|x(No report was kept for that day: made now from what the world still knows.)|n"
    return body


# ------------------------------------------------------- in a worker thread


def page_report(day, now=None):
    """The report of `day` for the web page (synchronous: Django's thread).

    Returns:
        dict: As `find_report`'s result.
    """
    now = time.time() if now is None else now
    if day < today(now):
        kept = store.load(store.report_dir(), day)
        facts = usable(kept["facts"])
        if facts is not None or kept["markdown"] is not None:
            return {"facts": facts, "markdown": kept["markdown"], "stored": True}
    facts = build.collect(day, now, backups=build.scan_backups(), ledger=current_ledger())
    return {"facts": facts, "markdown": None, "stored": False}


def observe_agents(ledger, now):
    """The ledger with what the agents did since it was last updated (reactor: ORM reads)."""
    return activity.observe(ledger, activity.live_snapshots(), now)
