"""
The `@status` screen (and the heartbeat CLI's table), as text.

Everything fits an 80-column telnet client. Colour markup is Evennia's; the
CLI strips it. Sections that belong to systems not built yet say so.
"""

import time

from django.conf import settings

from world import servicestate
from world.heartbeat import history
from world.presentation import age_text, coloured_state, latency_text, plain_text
from world.servicestate import DOWN, UNKNOWN, UP

WIDTH = 78
SPARK = "▁▂▃▄▅▆▇█"
REASON_WIDTH = 30


def service_names():
    """Every service: the configured checks in settings order."""
    names = []
    for entry in settings.HEALTH_CHECKS:
        if isinstance(entry, dict) and entry.get("name") and entry["name"] not in names:
            names.append(entry["name"])
    return names


def table_row(name, state, latency_ms, since_age, checked_age, reason):
    """One service row: name, state, latency, since, checked, reason."""
    state_cell = coloured_state(state) + " " * max(0, 9 - len(state))
    return (
        f"{name[:12]:<12} {state_cell}{latency_text(latency_ms):>8}  "
        f"{_age_cell(since_age):>6}  {_age_cell(checked_age):>7}  {plain_text(reason, REASON_WIDTH)}"
    )


def _age_cell(seconds):
    return "-" if seconds is None else age_text(seconds)


def table_header():
    return f"|w{'Service':<12} {'State':<9}{'Latency':>8}  {'Since':>6}  {'Checked':>7}  Reason|n"


def services_section(now=None):
    """The services table from the heartbeat's memory."""
    now = now or time.time()
    lines = [table_header()]
    for name, state in zip(service_names(), servicestate.current_many(service_names())):
        since = now - state.since if state.since else None
        lines.append(table_row(name, state.state, state.latency_ms, since, state.age(now), state.reason))
    return lines


def probe_table(results):
    """A table of raw probe results (the CLI's one-off beat)."""
    lines = [table_header()]
    for result in results:
        lines.append(table_row(result.name, result.state, result.latency_ms, None, 0, result.reason))
    return lines


def heartbeat_line(now=None):
    """How long ago the heartbeat last beat, and how often it beats."""
    from world.heartbeat.service import heartbeat_age, heartbeat_script

    script = heartbeat_script()
    interval = script.interval if script else settings.HEARTBEAT_INTERVAL
    age = heartbeat_age(now)
    when = "never yet" if age is None else f"{age_text(age)} ago"
    return f"Heartbeat: last beat {when} (every {interval}s)"


def agents_section():
    """One line: each agent, online or not, and its mode."""
    from world.agentfleet import agent_characters

    agents = agent_characters()
    if not agents:
        return ["Agents:    none yet"]
    parts = [f"{name} {('|g' + agent.mode + '|n') if agent.online else '|roffline|n'}"
             for name, agent in sorted(agents.items())]
    lines, line = [], "Agents:    "
    for part in parts:
        if len(line) + len(part) > 90 and line.strip() != "Agents:":
            lines.append(line.rstrip(", "))
            line = "           "
        line += part + ", "
    lines.append(line.rstrip(", "))
    return lines


def incidents_section(now=None):
    """Open incidents with their level, and the state of the Gitea outbox."""
    from world.incidents import config, core, outbox, silences

    now = now or time.time()
    incidents = core.open_incidents()
    lines = [f"Incidents: {len(incidents)} open" if incidents else "Incidents: none open"]
    for incident in incidents[:5]:
        lines.append(
            f"  #{incident.id} {incident.severity} L{incident.level} {incident.state:<12} "
            f"{age_text(now - incident.opened_at):>4} {plain_text(incident.summary, 40)}"
        )
    if len(incidents) > 5:
        lines.append(f"  ... and {len(incidents) - 5} more (@incidents)")
    if config.gitea_configured():
        queued = outbox.counts()
        dead = f", |r{queued['dead']} dead-lettered|n" if queued["dead"] else ""
        lines.append(f"Escalation: Gitea {settings.GITEA_REPO}; {queued['pending']} notification(s) pending{dead}")
    else:
        lines.append("Escalation: Gitea not configured - level 3 is in-world only")
    active = silences.active(now)
    if active:
        lines.append("Silenced: " + ", ".join(s.service for s in active))
    return lines


def backups_section():
    """The last backup (the backup system fills this in)."""
    state = servicestate.current("backup")
    return [f"Backups:   {plain_text(state.reason, 60)}"]


def status_screen(now=None):
    """The whole `@status` screen."""
    title = f"|w{settings.SERVERNAME} status|n"
    lines = [title, "-" * WIDTH]
    lines += services_section(now)
    lines.append("")
    lines += agents_section()
    lines += incidents_section(now)
    lines += backups_section()
    lines.append(heartbeat_line(now))
    return "\n".join(lines)


def sparkline(samples):
    """A text sparkline of latency; down is a red `x`, unknown a grey `?`."""
    latencies = [s.latency_ms for s in samples if s.state not in (DOWN, UNKNOWN) and s.latency_ms is not None]
    top = max(latencies) if latencies else 1.0
    chars = []
    for sample in samples:
        if sample.state == DOWN:
            chars.append("|rx|n")
        elif sample.state == UNKNOWN or sample.latency_ms is None:
            chars.append("|x?|n")
        else:
            level = min(len(SPARK) - 1, int(sample.latency_ms / top * (len(SPARK) - 1))) if top else 0
            colour = "|g" if sample.state == UP else "|y"
            chars.append(f"{colour}{SPARK[level]}|n")
    return "".join(chars)


def service_detail(name, now=None):
    """`@status <service>`: state, recent history, 24 h uptime, last error."""
    now = now or time.time()
    state = servicestate.current(name)
    samples = history.recent(name, limit=60)
    since = f" since {age_text(now - state.since)}" if state.since else ""
    lines = [f"|w{name}|n: {coloured_state(state.state)}{since} - {plain_text(state.reason, 60)}"]
    if samples:
        latencies = sorted(s.latency_ms for s in samples if s.latency_ms is not None and s.state != DOWN)
        lines.append(f"Last {len(samples)} checks (oldest first):")
        lines.append("  " + sparkline(samples))
        if latencies:
            median = latencies[len(latencies) // 2]
            lines.append(f"Latency: median {latency_text(median)}, max {latency_text(latencies[-1])}")
    else:
        lines.append("No checks recorded yet.")
    uptime = history.uptime(name, now=now)
    lines.append("Uptime 24h: " + ("no data" if uptime is None else f"{uptime * 100:.1f}%"))
    error = history.last_error(name)
    if error:
        lines.append(
            f"Last error: {age_text(now - error.checked_at)} ago, {error.state}: {plain_text(error.reason, 50)}"
        )
    else:
        lines.append("Last error: none recorded")
    return "\n".join(lines)
