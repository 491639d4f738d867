r"""
Timmy World settings.

Only what differs from Evennia's defaults (`evennia/settings_default.py`) is
set here. Everything that depends on the machine (ports, service addresses,
tokens) comes from the environment, so that two worlds can run side by side
and a test can start one on free ports. Secrets never live in this file: they
go in the git-ignored `server/conf/secret_settings.py` (written by `make run`
on first start) or in the environment.

Every environment variable read here is listed in the README.
"""

import os

from evennia.settings_default import *  # noqa: F401,F403


def _env_int(name, default, low=1, high=65535):
    """Read an integer from the environment, failing loudly on bad input.

    Args:
        name (str): Environment variable name.
        default (int): Value when the variable is unset or empty.
        low (int): Smallest accepted value.
        high (int): Largest accepted value.

    Returns:
        int: The value.

    Raises:
        SystemExit: When the value is not an integer within bounds, naming it.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer.")
    if not low <= value <= high:
        raise SystemExit(f"{name}={value} is out of range ({low}..{high}).")
    return value


def _env_bool(name, default=False):
    """Read a yes/no flag from the environment ("1", "true", "yes", "on")."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


######################################################################
# Identity
######################################################################

# The name shown on the connection screen, the website and in `@status`.
SERVERNAME = "Timmy World"
GAME_SLOGAN = "The fleet keeps itself alive"

######################################################################
# Ports and interfaces
#
# TIMMY_PORT_BASE (default 4000) lays out every port the game opens:
#   base     telnet                 base + 3  webserver (internal)
#   base + 1 website/webclient      base + 4  AMP (Portal <-> Server)
#   base + 2 websocket              base + 5  SSL telnet (off)
#                                   base + 6  SSH (off)
######################################################################

TIMMY_PORT_BASE = _env_int("TIMMY_PORT_BASE", 4000, 1024, 65528)
# Interface the public ports listen on; set 127.0.0.1 to keep the world local.
TIMMY_BIND_INTERFACE = os.environ.get("TIMMY_BIND_INTERFACE", "0.0.0.0").strip() or "0.0.0.0"

# Host names the website answers to; "*" (any) by default when listening on
# every interface (the settings check warns), local names when bound to loopback.
_LOCAL_ONLY = TIMMY_BIND_INTERFACE in ("127.0.0.1", "localhost", "::1")
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("TIMMY_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if _LOCAL_ONLY else "*").split(",")
    if host.strip()
]

TELNET_PORTS = [TIMMY_PORT_BASE]
TELNET_INTERFACES = [TIMMY_BIND_INTERFACE]
WEBSERVER_PORTS = [(TIMMY_PORT_BASE + 1, TIMMY_PORT_BASE + 3)]
WEBSERVER_INTERFACES = [TIMMY_BIND_INTERFACE]
WEBSOCKET_CLIENT_PORT = TIMMY_PORT_BASE + 2
WEBSOCKET_CLIENT_INTERFACE = TIMMY_BIND_INTERFACE
AMP_PORT = TIMMY_PORT_BASE + 4
SSL_PORTS = [TIMMY_PORT_BASE + 5]
SSH_PORTS = [TIMMY_PORT_BASE + 6]

######################################################################
# Database
######################################################################

# SQLite in WAL mode, so readers (the web page, an online backup) never block
# the writer, with synchronous=NORMAL: durable across a process crash, and in
# WAL mode it can only lose the last transactions on power loss, never corrupt
# the file. Evennia's default `synchronous=OFF` can corrupt the database on
# power loss. init_command runs on every connection Django opens (every
# thread), unlike SQLITE3_PRAGMAS, which Evennia runs once at start.
_SQLITE_INIT = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
DATABASES["default"]["OPTIONS"] = {  # noqa: F405
    "init_command": _SQLITE_INIT,
    # Take the write lock at BEGIN: two processes (the server and a CLI) then
    # queue for it instead of failing with "database is locked" mid-transaction.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
SQLITE3_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=10000",
    "PRAGMA temp_store=2",
)

######################################################################
# Safety for an operations world
######################################################################

# Players never see tracebacks; errors go to the server log.
IN_GAME_ERRORS = False
# Accounts are made by operators; set TIMMY_OPEN_REGISTRATION=1 to let anyone
# create an account from the login screen and the website.
NEW_ACCOUNT_REGISTRATION_ENABLED = _env_bool("TIMMY_OPEN_REGISTRATION", False)
GUEST_ENABLED = False
# One character per account, made at account creation, like an operator badge.
AUTO_CREATE_CHARACTER_WITH_ACCOUNT = True
MAX_NR_CHARACTERS = 1

######################################################################
# Typeclasses and world
######################################################################

# The operations layer's own tables (heartbeat history, incidents) live in
# the `world` app: world/models.py, world/migrations/.
INSTALLED_APPS = INSTALLED_APPS + ["world"]  # noqa: F405

BASE_ACCOUNT_TYPECLASS = "typeclasses.accounts.Account"
BASE_CHARACTER_TYPECLASS = "typeclasses.characters.Character"
BASE_ROOM_TYPECLASS = "typeclasses.rooms.Room"
BASE_EXIT_TYPECLASS = "typeclasses.exits.Exit"

# Evennia's parser, plus keeping each caller's merged command set alive so
# Evennia's (weak) merge cache answers their next command: commands/mergekeeper.py.
COMMAND_PARSER = "server.conf.cmdparser.cmdparser"

# Both ends of the Portal-Server link: Evennia's AMP protocols, sending the
# players' and the game's messages without an answer box
# (server/conf/amplink.py). The Server's plugin makes its AMP client
# factory honour the second setting, which Evennia 5.0.1 ignores.
AMP_SERVER_PROTOCOL_CLASS = "server.conf.amplink.PortalAMPProtocol"
AMP_CLIENT_PROTOCOL_CLASS = "server.conf.amplink.ServerAMPProtocol"

# Evennia's Portal session handler, writing a session's output at once
# instead of at the end of the reactor's turn (server/conf/sendnow.py).
PORTAL_SESSION_HANDLER_CLASS = "server.conf.sendnow.SendNowPortalSessionHandler"

# The one data file that defines the regions (names, aliases, descriptions,
# housed services, exits). The builder reads it; see world/builder.py.
TIMMY_REGIONS_FILE = os.path.join(GAME_DIR, "world", "regions.toml")  # noqa: F405

# Written by the server once the world is up and initial setup is done;
# `make run` waits for it before declaring the world started.
TIMMY_READY_FILE = os.path.join(GAME_DIR, "server", "ready")  # noqa: F405

######################################################################
# Channels
######################################################################

# `ops` is where the fleet talks: transitions, incidents, reports. Evennia
# creates every channel listed here at each start if it is missing.
OPS_CHANNEL_KEY = "ops"
DEFAULT_CHANNELS = [
    {
        "key": "Public",
        "aliases": ("pub",),
        "desc": "Public discussion",
        "locks": "control:perm(Admin);listen:all();send:all()",
    },
    {
        "key": OPS_CHANNEL_KEY,
        "aliases": ("operations",),
        "desc": "Fleet operations: service transitions, incidents, reports",
        "locks": "control:perm(Admin);listen:perm(Helper);send:perm(Helper)",
    },
]

######################################################################
# External services (the fleet). Addresses come from the environment.
######################################################################

# The local Ollama server the agents think with.
OLLAMA_HOST = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434").strip().rstrip("/")
# The Gitea forge where human escalations are written; empty = not configured.
GITEA_URL = os.environ.get("GITEA_URL", "").strip().rstrip("/")
# Token for the Gitea API; better kept in secret_settings.py than the shell.
GITEA_TOKEN = os.environ.get("GITEA_TOKEN", "").strip()

# The suite runs with Evennia's runner plus a closing "N passed, N failed" line.
TEST_RUNNER = "tests.runner.TimmyTestRunner"

######################################################################
# The status page (/status/) and JSON API (/api/status)
######################################################################

# The status page and /api/status readable without logging in.
TIMMY_STATUS_PUBLIC = _env_bool("TIMMY_STATUS_PUBLIC", False)
# Read-only token for /api/status ("Authorization: Bearer <token>"); empty = token
# access off. Better set in secret_settings.py.
TIMMY_STATUS_TOKEN = os.environ.get("TIMMY_STATUS_TOKEN", "").strip()

######################################################################
# The heartbeat (world/heartbeat): service checks, timing, history
######################################################################

# Seconds between heartbeats (TIMMY_HEARTBEAT_INTERVAL overrides; `@heartbeat/interval`
# changes it at run time within the bounds below).
HEARTBEAT_INTERVAL = _env_int("TIMMY_HEARTBEAT_INTERVAL", 60, 1, 86400)
HEARTBEAT_INTERVAL_BOUNDS = (5, 3600)
# A service is confirmed down after this many consecutive failed probes ...
HEARTBEAT_DOWN_AFTER = 2
# ... and back up after this many consecutive good ones.
HEARTBEAT_UP_AFTER = 2
# Heartbeat samples older than this are pruned from the database.
HEARTBEAT_HISTORY_DAYS = 7
# Where the daily JSON-lines heartbeat log (heartbeat-YYYY-MM-DD.jsonl) goes.
HEARTBEAT_LOG_DIR = os.path.join(GAME_DIR, "server", "logs")  # noqa: F405

# The service checks. Adding a service is one entry. Fields: name, kind
# (http|ollama|tcp|disk|evennia|agents|backup), target (URL, host:port or
# path), timeout (s), region (defaults to the region housing it in
# world/regions.toml), severity (P0|P1|P2; P0/P1 are "critical": the
# heartbeat CLI exits non-zero when one is down), degraded_ms (slower = degraded),
# enabled, announce_down/announce_up ({service}, {reason}, {state}), plus
# per kind: expect_status (http), warn_percent/critical_percent (disk),
# stale_after (agents).
HEALTH_CHECKS = [
    {
        "name": "ollama", "kind": "ollama", "target": OLLAMA_HOST, "timeout": 5.0,
        "severity": "P1", "degraded_ms": 2000,
        "announce_down": "The Oracle's light goes dark: {service} does not answer ({reason}).",
        "announce_up": "The pool of the Oracle glows again: {service} is {state} ({reason}).",
    },
    {
        "name": "gitea", "kind": "http", "target": f"{GITEA_URL}/api/v1/version", "timeout": 5.0,
        "severity": "P2", "enabled": bool(GITEA_URL),
        "announce_down": "The forge-fire dies down: {service} does not answer ({reason}).",
        "announce_up": "The forge-fire roars back: {service} is {state} ({reason}).",
    },
    {
        "name": "evennia", "kind": "evennia", "target": f"127.0.0.1:{TIMMY_PORT_BASE}",
        "timeout": 5.0, "severity": "P0",
    },
    {
        "name": "disk", "kind": "disk", "target": GAME_DIR, "timeout": 5.0,  # noqa: F405
        "severity": "P1", "warn_percent": 85, "critical_percent": 95,
        "announce_down": "The hearth's floor groans under the weight: {reason}.",
    },
    {"name": "agents", "kind": "agents", "timeout": 5.0, "severity": "P2", "stale_after": 300},
    {"name": "backup", "kind": "backup", "timeout": 5.0, "severity": "P2"},
]

######################################################################
# Incidents and escalation (world/incidents)
######################################################################

# Seconds an unacknowledged incident waits before climbing a level.
INCIDENT_ESCALATE_AFTER = {"P0": 120, "P1": 600, "P2": 3600}
# Seconds an acknowledged but unresolved incident waits before re-alerting.
INCIDENT_REALERT_AFTER = {"P0": 900, "P1": 1800, "P2": 14400}
# Level 1 owner (the on-duty agent) and the level 2 peer agent.
INCIDENT_ON_DUTY = os.environ.get("TIMMY_ON_DUTY", "Timmy")
INCIDENT_PEER = os.environ.get("TIMMY_PEER", "Ezra")
# How often the matrix looks at deadlines, silences and the outbox (seconds).
INCIDENT_TICK = 5
# The Gitea repository ("owner/name") level-3 escalations are filed in.
GITEA_REPO = os.environ.get("GITEA_REPO", "").strip().strip("/")
# Seconds per Gitea API call.
GITEA_TIMEOUT = 10
# Outbox retries: capped exponential backoff with jitter (seconds).
OUTBOX_RETRY_BASE = 5
OUTBOX_RETRY_CAP = 300

######################################################################
# The agents (agents/ is the runtime; world/agentfleet.py the server side)
######################################################################

# Persona data file: who the agents are, what they may do, what they want.
TIMMY_PERSONAS_FILE = os.path.join(GAME_DIR, "agents", "personas.toml")  # noqa: F405
# The agents' passwords: generated once, git-ignored, mode 0600.
TIMMY_AGENT_CREDENTIALS = os.environ.get(
    "TIMMY_AGENT_CREDENTIALS", os.path.join(GAME_DIR, "server", "conf", "agent_credentials.json")  # noqa: F405
)
# One model for every agent (e.g. a small one); empty = each persona's own.
TIMMY_AGENT_MODEL = os.environ.get("TIMMY_AGENT_MODEL", "").strip()
# Per-agent overrides: {"Ezra": "llama3.1:8b"} and {"Bezalel": "planner"} (llm|planner|hybrid).
TIMMY_AGENT_MODELS = {}
TIMMY_AGENT_STRATEGIES = {}
# Seconds before "<agent> is thinking…" is shown to someone waiting for an answer.
TIMMY_AGENT_THINKING_AFTER = 3

######################################################################
# Backups (world/backup)
######################################################################

# Where backups live; kept 0700, every file in it 0600 (backups hold secrets).
BACKUP_DIR = os.environ.get("TIMMY_BACKUP_DIR", "").strip() or os.path.join(GAME_DIR, "backups")  # noqa: F405
# UTC "HH:MM" of the daily backup (the schedule catches up after downtime).
BACKUP_DAILY_AT = "03:30"
# Retention: newest backup of each of the last N days / M ISO weeks.
BACKUP_KEEP_DAILY = 7
BACKUP_KEEP_WEEKLY = 4
# Seconds after which the latest backup is stale (a failing check).
BACKUP_STALE_AFTER = 26 * 3600
# Files/folders (relative to GAME_DIR) copied beside the database (the agents'
# memory is in the database itself).
BACKUP_INCLUDE = ["server/conf", "world/regions.toml", "agents/personas.toml"]
# A backup is refused if it would leave less than this much free (MiB).
BACKUP_MIN_FREE_MB = 64
# Database pages per step of the online copy (progress granularity).
BACKUP_STEP_PAGES = 1024
# Where drills restore to; None = the system temp folder.
BACKUP_SCRATCH_DIR = None

######################################################################
# Recovery playbooks (world/recovery; `@recover`)
######################################################################

# The allowlist of commands playbooks may run: name -> argv template, run
# without a shell in its own process group, killed with the whole group at
# its timeout. `{target}` is the only placeholder (validated before use);
# "destructive": True makes a command need an Admin and @confirm. Restart
# commands are machine-specific: set them in secret_settings.py, e.g.
#   RECOVERY_COMMANDS = {
#       "restart_ollama": {"argv": ["systemctl", "restart", "ollama"], "timeout": 60},
#       "restart_gitea": {"argv": ["systemctl", "restart", "gitea"], "timeout": 60},
#   }
# A step whose command is not configured says so and the playbook escalates.
RECOVERY_COMMANDS = {}
# Seconds an operator has to type `@confirm <code>` for a destructive run.
RECOVERY_CONFIRM_SECONDS = 60
# Self-healing storm limit: at most this many automatic runs per window (s);
# past it a transition to down escalates instead of recovering.
RECOVERY_AUTO_LIMIT = 3
RECOVERY_AUTO_WINDOW = 3600
# Which playbook a health check's service runs when its check has
# "auto_recover": True.
RECOVERY_SERVICE_PLAYBOOKS = {"ollama": "ollama", "gitea": "gitea", "agents": "agent"}
# Bytes of a command's output kept (the rest is cut; the digest covers all).
RECOVERY_OUTPUT_LIMIT = 64 * 1024
# Deadlines (seconds): a restarted service to answer, a restarted agent to log
# in and puppet, the grace before an agent's process is restarted, a cut-off
# child to be re-linked, the outbox to drain after Gitea is back.
RECOVERY_SERVICE_WAIT = 60
RECOVERY_AGENT_WAIT = 90
RECOVERY_AGENT_RESTART_GRACE = 15
RECOVERY_ORPHAN_WAIT = 600
RECOVERY_OUTBOX_WAIT = 20
# How often a waiting step looks again (seconds).
RECOVERY_POLL_INTERVAL = 2.0
# An agent not seen for this long (seconds) counts as failed for `@recover agent`.
RECOVERY_AGENT_STALE_AFTER = 300

######################################################################
# The daily report (world/report)
######################################################################

# Each day at TIMMY_REPORT_AT the previous UTC day's report is kept here as
# report-YYYY-MM-DD.md (with .json, its facts, which @report and
# /status/report/ show) and summed up on the ops channel.
TIMMY_REPORT_DIR = os.environ.get("TIMMY_REPORT_DIR", "").strip() or os.path.join(  # noqa: F405
    GAME_DIR, "server", "logs", "reports")  # noqa: F405
# "HH:MM" UTC when the previous day's report is made (a server down then
# catches up once, for the latest day only). Malformed: logged, 06:00 used.
TIMMY_REPORT_AT = os.environ.get("TIMMY_REPORT_AT", "").strip() or "06:00"

GLOBAL_SCRIPTS = {
    "daily_report": {
        "typeclass": "typeclasses.report_script.DailyReportScript",
        "interval": 60,
        "persistent": True,
        "desc": "Daily report: uptime, incidents, backups, agents (world/report)",
    },
    "backup_schedule": {
        "typeclass": "typeclasses.backup_script.BackupScheduleScript",
        "interval": 60,
        "persistent": True,
        "desc": "Daily backup, verification and retention (world/backup)",
    },
    "incidents": {
        "typeclass": "typeclasses.scripts.IncidentsScript",
        "interval": INCIDENT_TICK,
        "persistent": True,
        "desc": "Escalates incidents, expires silences, delivers the outbox",
    },
    "heartbeat": {
        "typeclass": "typeclasses.scripts.HeartbeatScript",
        "interval": HEARTBEAT_INTERVAL,
        # The first beat comes from at_server_start (a second after start),
        # not from the Script's creation, so creating it never probes.
        "start_delay": True,
        "persistent": True,
        "desc": "Probes the fleet's services and announces state changes",
    },
}

######################################################################
# Settings given in secret_settings.py override those in this file.
######################################################################
try:
    from server.conf.secret_settings import *  # noqa: F401,F403
except ImportError:
    pass
