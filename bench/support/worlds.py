"""
The worlds the latency benchmark compares, each in a temporary folder on
free ports:

- `StockWorld`: a fresh `evennia --init` game directory (no Timmy World
  code), the dummyrunner's settings mixin appended, and one file of
  instrumentation (server/conf/reactorprobe.py, started from its service
  plugin) so its reactor lag is measured the same way. It does not get
  Timmy World's TCP_NODELAY plugin: it is the stock baseline.
- `timmy_world()`: tests/support/liveworld.py's LiveWorld on a copy of this
  game, with a benchmark `secret_settings.py` written into the copy.

Both expose the same attributes: game_dir, telnet_port, username,
password, env, pids(), start(), stop(), cleanup().
"""

import os
import secrets
import shutil
import subprocess
import tempfile
import time

from tests.support.liveworld import SUPERUSER, LiveWorld, copy_game_dir, free_port_base
from tests.support.telnet import TelnetClient

from .procstats import read_pid
from .services import EVENNIA, GAME_DIR, venv_env

PROBE_MODULE = os.path.join(GAME_DIR, "server", "conf", "reactorprobe.py")

STOCK_SETTINGS = '''

# --- added by bench/latency.py: ports for a side-by-side run, loopback only
TELNET_PORTS = [{base}]
TELNET_INTERFACES = ["127.0.0.1"]
WEBSERVER_PORTS = [({base} + 1, {base} + 3)]
WEBSERVER_INTERFACES = ["127.0.0.1"]
WEBSOCKET_CLIENT_PORT = {base} + 2
WEBSOCKET_CLIENT_INTERFACE = "127.0.0.1"
AMP_PORT = {base} + 4
SSL_PORTS = [{base} + 5]
SSH_PORTS = [{base} + 6]
# the dummyrunner refuses to run without its mixin (fast hashing, open perms)
from evennia.server.profiling.settings_mixin import *  # noqa
'''

STOCK_PLUGIN = '''"""Benchmark instrumentation only (bench/latency.py): the reactor-lag probe."""

from server.conf import reactorprobe


def start_plugin_services(server):
    reactorprobe.start_from_env()
'''

TIMMY_SECRET_SETTINGS = '''"""Benchmark settings, written by bench/latency.py into a temporary copy."""

SECRET_KEY = {key!r}

# Evennia's dummyrunner refuses to run without its mixin (fast password
# hashing, Developer permission for new accounts, no throttles).
from evennia.server.profiling.settings_mixin import *  # noqa: E402,F401,F403

# settings.py imports this file at its end, so it is still being imported and
# its HEALTH_CHECKS already exists: extend it (a new list; settings.py's
# `import *` then rebinds the name).
from server.conf.settings import HEALTH_CHECKS as _CHECKS  # noqa: E402

HEALTH_CHECKS = _CHECKS + [
    {{"name": "{prefix}" + str(i), "kind": "http", "target": {url!r}, "timeout": {timeout},
      "region": "forge", "severity": "P2"}}
    for i in (1, 2)
]
'''


def _read(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


class StockWorld:
    """A stock Evennia 5 game directory, started with the stock launcher."""

    def __init__(self, extra_env=None):
        self.parent = tempfile.mkdtemp(prefix="evennia-stock-")
        self.game_dir = os.path.join(self.parent, "stockgame")
        self.port_base = free_port_base()
        self.telnet_port = self.port_base
        self.username, self.password = SUPERUSER
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TIMMY_"))}
        self.env.update(EVENNIA_SUPERUSER_USERNAME=self.username, EVENNIA_SUPERUSER_PASSWORD=self.password,
                        EVENNIA_SUPERUSER_EMAIL="", PYTHONDONTWRITEBYTECODE="1")
        self.env.update(extra_env or {})

    def _evennia(self, *args, cwd=None, timeout=300):
        result = subprocess.run([EVENNIA, *args], cwd=cwd or self.game_dir, env=venv_env(self.env),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"evennia {' '.join(args)} failed:\n{result.stdout}")
        return result.stdout

    def start(self):
        """--init, configure, migrate, start, and wait until a login works."""
        self._evennia("--init", "stockgame", cwd=self.parent)
        conf = os.path.join(self.game_dir, "server", "conf")
        with open(os.path.join(conf, "settings.py"), "a") as handle:
            handle.write(STOCK_SETTINGS.format(base=self.port_base))
        shutil.copy(PROBE_MODULE, conf)
        with open(os.path.join(conf, "server_services_plugins.py"), "w") as handle:
            handle.write(STOCK_PLUGIN)
        self._evennia("migrate")
        self._evennia("start")
        deadline = time.monotonic() + 120
        # The first start runs initial setup, then restarts the Server once.
        log = os.path.join(self.game_dir, "server", "logs", "server.log")
        while "successfully restarted" not in _read(log) and time.monotonic() < deadline:
            time.sleep(0.5)
        while True:
            try:
                with TelnetClient("127.0.0.1", self.telnet_port, timeout=10) as client:
                    client.login(self.username, self.password, r"\n")
                    break
            except (OSError, TimeoutError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        return self

    def pids(self):
        """{"server": pid, "portal": pid}."""
        return {name: read_pid(os.path.join(self.game_dir, "server", f"{name}.pid")) for name in ("server", "portal")}

    def agent_pids(self):
        return []

    def stop(self):
        pids = [pid for pid in self.pids().values() if pid]
        try:
            self._evennia("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in pids):
            time.sleep(0.3)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.parent, ignore_errors=True)


class TimmyWorld(LiveWorld):
    """LiveWorld plus the pids the benchmark watches."""

    def pids(self):
        return {name: read_pid(os.path.join(self.game_dir, "server", f"{name}.pid")) for name in ("server", "portal")}

    def agent_pids(self):
        """The agent supervisor and its agents (agents/run/*.pid)."""
        run = os.path.join(self.game_dir, "agents", "run")
        if not os.path.isdir(run):
            return []
        return [pid for name in sorted(os.listdir(run)) if (pid := read_pid(os.path.join(run, name)))]


def timmy_world(extra_env, hang_url, hang_timeout, prefix="hang"):
    """A TimmyWorld on a fresh copy, with the benchmark's secret_settings.py.

    Args:
        extra_env (dict): Environment for the world (and its agents).
        hang_url (str): URL the two extra http checks probe.
        hang_timeout (float): Their timeout in seconds.
    """
    game_dir = copy_game_dir()
    path = os.path.join(game_dir, "server", "conf", "secret_settings.py")
    with open(path, "w") as handle:
        handle.write(TIMMY_SECRET_SETTINGS.format(key=secrets.token_urlsafe(40), url=hang_url,
                                                  timeout=hang_timeout, prefix=prefix))
    os.chmod(path, 0o600)
    return TimmyWorld(extra_env=extra_env, game_dir=game_dir)
