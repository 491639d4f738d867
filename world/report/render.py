"""
The daily report's facts as words: in-game text, Markdown, the ops summary.

`display(facts)` turns the facts (build.py, or a stored JSON file) into
ready-made phrases and table cells; `text`, `markdown` and the web template
all lay out the same phrases, so the three always agree. Every string taken
from the facts passes through plain_text again here, so even a hand-edited
stored file cannot inject markup. In-game text fits 80 columns.
"""

import datetime
import textwrap

from world.backup.units import format_size
from world.presentation import plain_text
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

WIDTH = 80
STATE_COLOURS = {UP: "|g", DEGRADED: "|y", DOWN: "|r", UNKNOWN: "|x"}
MARKDOWN_SPECIAL = "\\`*_[]<>#|~!"


# ------------------------------------------------------------------ phrases


def clean(value, limit=None):
    """Any fact as one line of plain text."""
    return plain_text("" if value is None else str(value), limit)


def percent(fraction):
    """An uptime fraction as '99.3%' (or 'no data')."""
    return "no data" if fraction is None else f"{float(fraction) * 100:.1f}%"


def duration(seconds):
    """A duration: '45s', '4m 05s', '2h 03m', '1d 02h' ('-' when unknown)."""
    if seconds is None:
        return "-"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}h"


def clock(timestamp):
    """Unix time as 'HH:MM' UTC."""
    return datetime.datetime.fromtimestamp(float(timestamp), tz=datetime.timezone.utc).strftime("%H:%M")


def stamp(timestamp):
    """Unix time as 'YYYY-MM-DD HH:MM UTC'."""
    when = datetime.datetime.fromtimestamp(float(timestamp), tz=datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def number(value):
    """A whole number with thousands separators ('12,345'), or '-'."""
    return "-" if value is None else f"{int(value):,}"


# ------------------------------------------------------------------ display


def display(facts):
    """Every phrase and cell the report shows.

    Args:
        facts (dict): From build.collect (or a stored report).

    Returns:
        dict: title, coverage, services, incidents, backups, agents (see the
            helpers below), all plain text.

    Raises:
        KeyError, TypeError, ValueError: The facts are malformed.
    """
    day = clean(facts["day"], 10)
    if facts["complete"]:
        coverage = f"The whole day, 00:00-24:00 UTC; made {stamp(facts['generated_at'])}."
    else:
        coverage = f"So far: 00:00-{clock(facts['until'])} UTC (the day is not over)."
    return {
        "day": day,
        "title": f"Daily report for {day} (UTC)",
        "server": clean(facts.get("server"), 60),
        "complete": bool(facts["complete"]),
        "coverage": coverage,
        "services": [_service(row) for row in facts["services"]],
        "incidents": _incidents(facts["incidents"], facts["complete"]),
        "backups": _backups(facts["backups"]),
        "agents": [_agent(row) for row in facts["agents"]],
    }


def _service(row):
    outage = row.get("outage")
    if outage:
        outage_text = (f"{duration(outage['seconds'])} from {clock(outage['start'])} "
                       f"({int(outage['samples'])} check{'s' if outage['samples'] != 1 else ''})")
    else:
        outage_text = "-"
    return {"name": clean(row["name"], 40), "uptime": percent(row["uptime"]), "samples": int(row["samples"]),
            "worst": clean(row.get("worst") or "-", 12), "outage": outage_text}


def _incidents(facts, complete):
    still = "still open at the end of the day" if complete else "open now"
    lines = [f"Opened {int(facts['opened'])}, resolved {int(facts['resolved'])}; "
             f"{int(facts['open_at_end'])} {still}."]
    if facts["opened"]:
        if facts["acknowledged"]:
            lines.append(f"Time to acknowledge: median {duration(facts['ack_median'])}, "
                         f"max {duration(facts['ack_max'])} ({int(facts['acknowledged'])} of "
                         f"{int(facts['opened'])} acknowledged).")
        else:
            lines.append(f"None of the {int(facts['opened'])} opened was acknowledged.")
    if facts["highest_level"]:
        lines.append(f"Highest level reached: {int(facts['highest_level'])} "
                     f"(#{int(facts['highest_level_id'])}).")
    rows = [{"id": int(row["id"]), "severity": clean(row["severity"], 2), "state": clean(row["state"], 12),
             "level": int(row["level"]), "opened": _when(row["opened_at"], row["opened_in_day"]),
             "summary": clean(row["summary"], 200)} for row in facts["list"]]
    more = int(facts.get("not_listed") or 0)
    return {"lines": lines, "rows": rows, "more": f"... and {more} more." if more else ""}


def _when(timestamp, in_day):
    return clock(timestamp) if in_day else stamp(timestamp)[:10]


def _backups(facts):
    made = [{"id": clean(row["id"], 30), "time": clock(row["created"]), "size": format_size(row["size"]),
             "verified": clean(row["verified"], 8)} for row in facts["made"]]
    drills = [{"id": clean(row["id"], 30), "time": clock(row["at"]), "ok": bool(row["ok"]),
               "result": "passed" if row["ok"] else f"FAILED {clean(row.get('problem'), 120)}".strip()}
              for row in facts["drills"]]
    return {"made": made, "drills": drills, "error": clean(facts.get("error"), 200),
            "none_made": "No backup was made." if not made else "",
            "none_drilled": "No drill was run." if not drills else ""}


def _agent(row):
    tokens = f"tokens {number(row.get('tokens_total'))} in all so far"
    if row.get("tokens_day") is not None:
        tokens += f" (about {number(row['tokens_day'])} that day)"
    decisions = int(row["decisions"])
    mode = clean(row.get("mode"), 20)
    return {
        "name": clean(row["name"], 40),
        "headline": f"{decisions} decision{'s' if decisions != 1 else ''}; {tokens}",
        "mode": mode,
        "goal": clean(row.get("goal"), 80) or "-",
        "recent": [{"time": clock(item["at"]), "command": clean(item.get("command"), 120),
                    "reason": clean(item.get("reason"), 120), "where": clean(item.get("where"), 20)}
                   for item in row.get("recent", [])],
        "notes": [{"time": clock(item["at"]), "text": clean(item.get("text"), 300)}
                  for item in row.get("notes", [])],
    }


# --------------------------------------------------------------------- text


def _wrap(text, indent="  ", more="    "):
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=more,
                         break_long_words=True, break_on_hyphens=False) or [indent.rstrip()]


def _heading(title):
    return f"|w{title}|n"


def _coloured(state, width):
    return f"{STATE_COLOURS.get(state, '')}{state:<{width}}|n" if state in STATE_COLOURS else f"{state:<{width}}"


def text(facts):
    """The report as in-game text (Evennia colour markup, at most 80 columns)."""
    view = display(facts)
    lines = [_heading(view["title"]) + f" - {view['server']}"[: WIDTH - len(view["title"])]]
    lines += _wrap(view["coverage"], "", "")
    lines += ["", _heading("Uptime"), f"  {'Service':<12} {'Uptime':>7} {'Checks':>7}  {'Worst':<9} Longest outage"]
    for row in view["services"]:
        lines.append(f"  {row['name'][:12]:<12} {row['uptime']:>7} {row['samples']:>7}  "
                     f"{_coloured(row['worst'], 9)} {row['outage']}"[: WIDTH + 4])
    if not view["services"]:
        lines.append("  No services are configured.")
    lines += ["", _heading("Incidents")] + _incident_text(view["incidents"])
    lines += ["", _heading("Backups")] + _backup_text(view["backups"])
    lines += ["", _heading("Agents")] + _agent_text(view["agents"])
    return "\n".join(lines)


def _incident_text(view):
    lines = [line for sentence in view["lines"] for line in _wrap(sentence)]
    for row in view["rows"]:
        prefix = f"  #{row['id']:<4} {row['severity']:<2} L{row['level']} {row['state']:<12} {row['opened']:<10} "
        lines.append(prefix + clean(row["summary"], max(10, WIDTH - len(prefix))))
    if view["more"]:
        lines.append(f"  {view['more']}")
    return lines


def _backup_text(view):
    lines = [f"  |r{view['error']}|n"] if view["error"] else []
    for row in view["made"]:
        colour = {"yes": "|g", "FAILED": "|r", "BROKEN": "|r"}.get(row["verified"], "|y")
        lines.append(f"  {row['time']} {row['id']:<24} {row['size']:>10}  verified: {colour}{row['verified']}|n")
    if view["none_made"]:
        lines.append(f"  |y{view['none_made']}|n")
    for row in view["drills"]:
        colour = "|g" if row["ok"] else "|r"
        lines += [f"{colour}{line}|n" if i == 0 else line
                  for i, line in enumerate(_wrap(f"Drill {row['time']} of {row['id']}: {row['result']}"))]
    if view["none_drilled"]:
        lines.append(f"  {view['none_drilled']}")
    return lines


def _agent_text(agents):
    if not agents:
        return ["  No agents."]
    lines = []
    for agent in agents:
        mode = f" ({agent['mode']})" if agent["mode"] else ""
        lines += _wrap(f"{agent['name']}{mode}: {agent['headline']}")
        lines += _wrap(f"goal: {agent['goal']}", "    ", "      ")
        for item in agent["recent"]:
            where = f" [{item['where']}]" if item["where"] else ""
            reason = f" - {item['reason']}" if item["reason"] else ""
            lines += _wrap(f"{item['time']} {item['command']}{where}{reason}", "    ", "      ")
        for note in agent["notes"]:
            lines += _wrap(f"note {note['time']}: {note['text']}", "    ", "      ")
    return lines


# ----------------------------------------------------------------- markdown


def md(value):
    """Text safe to put in Markdown (special characters backslash-escaped)."""
    return "".join(f"\\{char}" if char in MARKDOWN_SPECIAL else char for char in clean(value))


def markdown(facts):
    """The report as a Markdown document (the file kept for each day)."""
    view = display(facts)
    lines = [f"# {md(view['title'])}", "", f"{md(view['server'])}. {md(view['coverage'])}", "", "## Uptime", ""]
    lines += ["| Service | Uptime | Checks | Worst | Longest outage |", "|---|---:|---:|---|---|"]
    lines += [f"| {md(r['name'])} | {md(r['uptime'])} | {r['samples']} | {md(r['worst'])} | {md(r['outage'])} |"
              for r in view["services"]]
    incidents = view["incidents"]
    lines += ["", "## Incidents", ""] + [f"- {md(line)}" for line in incidents["lines"]]
    if incidents["rows"]:
        lines += ["", "| # | Severity | Level | State | Opened | Summary |", "|---:|---|---:|---|---|---|"]
        lines += [f"| {r['id']} | {md(r['severity'])} | {r['level']} | {md(r['state'])} | {md(r['opened'])} | "
                  f"{md(r['summary'])} |" for r in incidents["rows"]]
        lines += [md(incidents["more"])] if incidents["more"] else []
    lines += ["", "## Backups", ""] + _backup_markdown(view["backups"])
    lines += ["", "## Agents"] + _agent_markdown(view["agents"])
    return "\n".join(lines) + "\n"


def _backup_markdown(view):
    lines = [f"- **{md(view['error'])}**"] if view["error"] else []
    lines += [f"- {row['time']} backup {md(row['id'])}, {md(row['size'])}, verified: {md(row['verified'])}"
              for row in view["made"]]
    lines += [f"- {md(view['none_made'])}"] if view["none_made"] else []
    lines += [f"- {row['time']} drill of {md(row['id'])}: {md(row['result'])}" for row in view["drills"]]
    lines += [f"- {md(view['none_drilled'])}"] if view["none_drilled"] else []
    return lines


def _agent_markdown(agents):
    if not agents:
        return ["", "No agents."]
    lines = []
    for agent in agents:
        mode = f" ({md(agent['mode'])})" if agent["mode"] else ""
        lines += ["", f"### {md(agent['name'])}{mode}", "", f"- {md(agent['headline'])}",
                  f"- Goal: {md(agent['goal'])}"]
        for item in agent["recent"]:
            where = f" \\[{md(item['where'])}\\]" if item["where"] else ""
            reason = f": {md(item['reason'])}" if item["reason"] else ""
            lines.append(f"- {item['time']} `{item['command'].replace('`', chr(39))}`{where}{reason}")
        lines += [f"- Note {note['time']}: {md(note['text'])}" for note in agent["notes"]]
    return lines


# ------------------------------------------------------------------ summary


def summary(facts):
    """A few lines for the ops channel (Evennia markup)."""
    view = display(facts)
    day = view["day"]
    uptimes = ", ".join(f"{row['name']} {row['uptime']}" for row in view["services"]) or "no services"
    backups = view["backups"]
    verified = sum(1 for row in backups["made"] if row["verified"] == "yes")
    drills = backups["drills"]
    failed = sum(1 for row in drills if not row["ok"])
    backup_text = f"{len(backups['made'])} made ({verified} verified)"
    drill_text = f"{len(drills)} drill(s)" + (f", |r{failed} FAILED|n" if failed else "")
    agents = ", ".join(f"{a['name']} {a['headline'].split(';')[0]}" for a in view["agents"]) or "none"
    return "\n".join([
        f"|w[report]|n Daily report for {day}: uptime {uptimes}.",
        f"Incidents: {_incident_summary(facts['incidents'])}.",
        f"Backups: {backup_text}; {drill_text}." + (f" |r{backups['error']}|n" if backups["error"] else ""),
        f"Agents: {agents}.",
        f"Full report: @report {day}, or /status/report/{day}/ on the website.",
    ])


def _incident_summary(facts):
    text = (f"{int(facts['opened'])} opened, {int(facts['resolved'])} resolved, "
            f"{int(facts['open_at_end'])} still open")
    if facts["acknowledged"]:
        text += f"; acknowledged in {duration(facts['ack_median'])} (median), {duration(facts['ack_max'])} at most"
    if facts["highest_level"]:
        text += f"; highest level {int(facts['highest_level'])}"
    return text
