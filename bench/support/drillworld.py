"""
The world a fire drill runs in: a LiveWorld on a temporary copy of this game
with its five agents, a fake Ollama and a fake Gitea as real processes on
loopback, and self-healing wired to a restart command that really brings a
stopped fake back.

- `FakeService`: one fake (Ollama or Gitea) started, stopped and restarted
  through tests/support/restart_drill_service.py, the same script the
  world's recovery playbooks run from RECOVERY_COMMANDS.
- `DrillWorld`: starts everything, and gives the drill what an operator has:
  the JSON API (`/api/status` with the read-only token), a telnet session as
  the superuser, `bin/timmy` in the copy, the pid files, the database path.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from tests.support.liveworld import LiveWorld, copy_game_dir
from tests.support.telnet import TelnetClient

from .procstats import read_pid
from .services import GAME_DIR, free_port

RESTART_SCRIPT = os.path.join(GAME_DIR, "tests", "support", "restart_drill_service.py")
AGENTS = ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")
# Self-healing for the services the scenarios take down. Not for `agents`:
# with it, the very first start runs the agent playbook before the agents
# have logged in, and a second supervisor is started (see the drill's notes).
AUTO_RECOVER = ("ollama", "gitea")
GITEA_TOKEN = "drill-token"
GITEA_REPO = "fleet/ops"
LOOK = r"Exits:[^\n]*\n(?:Characters:[^\n]*\n)?"

SECRET_SETTINGS = '''"""Drill settings, written by bench/drill.py into a temporary copy."""

SECRET_KEY = {key!r}
TIMMY_STATUS_TOKEN = {token!r}

# The restart commands the recovery playbooks run: a script that really
# brings the stopped fake back (tests/support/restart_drill_service.py).
RECOVERY_COMMANDS = {commands!r}
RECOVERY_POLL_INTERVAL = 0.5

# The escalation matrix: P0 climbs after {p0} s (so the Gitea scenario's
# incident climbs during the drill); the matrix looks every {tick} s.
INCIDENT_ESCALATE_AFTER = {{"P0": {p0}, "P1": 600, "P2": 3600}}
INCIDENT_TICK = {tick}

# settings.py imports this file at its end, so its names already exist:
# self-healing on for the services a playbook heals.
from server.conf.settings import GLOBAL_SCRIPTS as _SCRIPTS, HEALTH_CHECKS as _CHECKS  # noqa: E402

HEALTH_CHECKS = [dict(check, auto_recover=True) if check["name"] in {auto!r} else check for check in _CHECKS]
GLOBAL_SCRIPTS = dict(_SCRIPTS, incidents=dict(_SCRIPTS["incidents"], interval=INCIDENT_TICK))
'''


@dataclass
class DrillOptions:
    """What the drill world is configured with.

    Attributes:
        heartbeat_interval (int): TIMMY_HEARTBEAT_INTERVAL in seconds.
        incident_tick (int): Seconds between two looks of the escalation matrix.
        p0_escalate_after (int): Seconds before an unacknowledged P0 climbs.
        agent_idle_tick (float): TIMMY_AGENT_IDLE_TICK for the agents.
        breaker_reset (float): TIMMY_AGENT_BREAKER_RESET (seconds to the model retry probe).
        auto_recover (tuple): The checks with `auto_recover: True`.
    """

    heartbeat_interval: int = 2
    incident_tick: int = 1
    p0_escalate_after: int = 10
    agent_idle_tick: float = 5.0
    breaker_reset: float = 5.0
    auto_recover: tuple = AUTO_RECOVER

    def describe(self):
        return (f"heartbeat every {self.heartbeat_interval} s, escalation matrix every {self.incident_tick} s,"
                f" P0 climbs after {self.p0_escalate_after} s, self-healing on for {', '.join(self.auto_recover)},"
                f" agents' idle tick {self.agent_idle_tick:g} s, model retry after {self.breaker_reset:g} s")


def _alive(pid):
    """True while `pid` runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class FakeService:
    """A fake service as its own process, started through the drill's restart command.

    Args:
        kind (str): "ollama" or "gitea".
        workdir (str): Where its pid file (and Gitea's state) live.
    """

    def __init__(self, kind, workdir):
        self.kind = kind
        self.port = free_port()
        self.pidfile = os.path.join(workdir, f"{kind}.pid")
        self.state_file = os.path.join(workdir, f"{kind}-state.json")
        self.url = f"http://127.0.0.1:{self.port}"

    def restart_argv(self):
        """The restart command (also the world's RECOVERY_COMMANDS entry)."""
        argv = [sys.executable, RESTART_SCRIPT, "--kind", self.kind, "--port", str(self.port),
                "--pidfile", self.pidfile]
        if self.kind == "gitea":
            argv += ["--token", GITEA_TOKEN, "--repo", GITEA_REPO, "--state", self.state_file]
        return argv

    def start(self):
        result = subprocess.run(self.restart_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"fake {self.kind} did not start: {result.stdout}")
        return self

    @property
    def pid(self):
        return read_pid(self.pidfile)

    def stop(self, sig=signal.SIGKILL):
        """Kill the running instance; return the instant it was signalled (None if none ran)."""
        pid = self.pid
        if not pid or not _alive(pid):
            return None
        at = time.time()
        os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (_alive(pid) or _answers(self.port)):
            time.sleep(0.02)
        return at

    def running(self):
        return bool(self.pid) and _alive(self.pid) and _answers(self.port)

    def issues(self):
        """Gitea's issues as it keeps them (its state file)."""
        try:
            with open(self.state_file) as handle:
                return json.load(handle).get("issues") or []
        except (OSError, ValueError):
            return []


class DrillWorld:
    """The whole world of a drill, and an operator's ways into it.

    Args:
        options (DrillOptions): Timings and switches.
        workdir (str): A scratch folder (pid files, the fakes' state).
        say (callable): Progress output.
    """

    def __init__(self, options, workdir, say=print):
        self.options, self.workdir, self.say = options, workdir, say
        self.ollama = FakeService("ollama", workdir)
        self.gitea = FakeService("gitea", workdir)
        self.token = secrets.token_urlsafe(24)
        self.world = None
        self.client = None
        self.last_error = ""

    # ------------------------------------------------------------- start/stop

    def start(self):
        """Start the fakes and the world (agents included); log the operator in."""
        self.ollama.start()
        self.gitea.start()
        game_dir = copy_game_dir()
        self._write_settings(game_dir)
        self.world = LiveWorld(game_dir=game_dir, extra_env=self._environment())
        self.world.start()
        self.connect()
        return self

    def _environment(self):
        options = self.options
        return {
            "OLLAMA_HOST": self.ollama.url, "GITEA_URL": self.gitea.url, "GITEA_TOKEN": GITEA_TOKEN,
            "GITEA_REPO": GITEA_REPO, "TIMMY_AGENTS": "1",
            "TIMMY_HEARTBEAT_INTERVAL": str(options.heartbeat_interval),
            "TIMMY_AGENT_IDLE_TICK": str(options.agent_idle_tick), "TIMMY_AGENT_MIN_INTERVAL": "1",
            "TIMMY_AGENT_OLLAMA_TIMEOUT": "3", "TIMMY_AGENT_BREAKER_RESET": str(options.breaker_reset),
        }

    def _write_settings(self, game_dir):
        commands = {f"restart_{fake.kind}": {"argv": fake.restart_argv(), "timeout": 30}
                    for fake in (self.ollama, self.gitea)}
        text = SECRET_SETTINGS.format(key=secrets.token_urlsafe(40), token=self.token, commands=commands,
                                      p0=self.options.p0_escalate_after, tick=self.options.incident_tick,
                                      auto=tuple(self.options.auto_recover))
        path = os.path.join(game_dir, "server", "conf", "secret_settings.py")
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o600)

    def connect(self):
        """(Re)open the operator's telnet session as the superuser."""
        self.disconnect()
        self.client = TelnetClient("127.0.0.1", self.world.telnet_port, timeout=20)
        self.client.login(self.world.username, self.world.password, LOOK)

    def disconnect(self):
        if self.client:
            self.client.close()
            self.client = None

    def cleanup(self, keep=False):
        """Stop the agents, the world and the fakes; delete the copy unless `keep`. Return leftover processes."""
        self.disconnect()
        strays = []
        if self.world:
            self.kill_agents()
            strays = self.world.stop()
            if not keep:
                self.world.cleanup()
        for fake in (self.ollama, self.gitea):
            fake.stop(signal.SIGTERM)
        return strays

    def kill_agents(self):
        """SIGKILL the supervisor's process group (its agents with it)."""
        pid = self.supervisor_pid()
        if pid and _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    # ---------------------------------------------------------------- access

    @property
    def game_dir(self):
        return self.world.game_dir

    @property
    def database(self):
        return os.path.join(self.game_dir, "server", "evennia.db3")

    def status(self, timeout=5.0):
        """`/api/status` as a dict, or None when the world does not answer."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.world.web_port}/api/status",
                                         headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                self.last_error = ""
                return json.load(response)
        except urllib.error.HTTPError as err:
            self.last_error = f"HTTP {err.code}"
        except (OSError, ValueError, http.client.HTTPException) as err:
            self.last_error = f"{type(err).__name__}: {err}"
        return None

    def operator(self, line, expect, timeout=30):
        """Run one command as the operator; return what came back up to `expect`."""
        self.client.drain(quiet=0.1, limit=1)
        return self.client.command(line, expect, timeout=timeout)

    def timmy(self, *args, timeout=300):
        """`bin/timmy ARGS` in the copy (never raises); return the CompletedProcess."""
        return self.world.timmy(*args, timeout=timeout, check=False)

    def supervisors(self):
        """Pids of every agent supervisor running from this copy (there should be one)."""
        return [pid for pid, cmdline in self.world.stray_processes() if "agents.supervisor" in cmdline]

    def agent_pid(self, name):
        return read_pid(os.path.join(self.game_dir, "agents", "run", f"{name.lower()}.pid"))

    def supervisor_pid(self):
        return read_pid(os.path.join(self.game_dir, "agents", "run", "supervisor.pid"))

    def alive(self, pid):
        return bool(pid) and _alive(pid)

    def log_tail(self, name="server.log", lines=30):
        return self.world.log_tail(name, lines)
