"""
A real Timmy World server for end-to-end tests and benchmarks.

`LiveWorld` copies the game directory to a temporary folder, picks free
ports, starts the world there with the same `bin/timmy run` an operator uses
(bound to 127.0.0.1), and stops it again, checking that no process is left.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from .procs import processes_of

GAME_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPERUSER = ("operator", "correct-horse-battery-9")
_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.db3", "*.db3-*", "*.sqlite3", "*.pid", "ready", "*.log", "*.log.*", "*.jsonl",
    "secret_settings.py", ".superuser", "artifacts", "backups", "run", ".hypothesis",
)
PORTS_PER_WORLD = 7


def ports_free(base, count=PORTS_PER_WORLD):
    """True if `count` consecutive TCP ports from `base` can be bound on loopback."""
    sockets = []
    try:
        for port in range(base, base + count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()


def free_port_base(count=PORTS_PER_WORLD):
    """A base port with `count` free consecutive ports after it."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 10)
        if ports_free(base, count):
            return base
    raise RuntimeError("no free port range found")


def copy_game_dir(target_parent=None):
    """Copy the game directory (code and data, no state) to a new temp folder."""
    parent = tempfile.mkdtemp(prefix="timmy-world-", dir=target_parent)
    target = os.path.join(parent, "game")
    shutil.copytree(GAME_DIR, target, ignore=_IGNORE)
    return target


class LiveWorld:
    """One running world in a temporary copy of the game directory."""

    def __init__(self, extra_env=None, game_dir=None):
        self.game_dir = game_dir or copy_game_dir()
        self.port_base = free_port_base()
        self.telnet_port = self.port_base
        self.web_port = self.port_base + 1
        self.websocket_port = self.port_base + 2
        self.username, self.password = SUPERUSER
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        self.env.update(
            TIMMY_PORT_BASE=str(self.port_base),
            TIMMY_BIND_INTERFACE="127.0.0.1",
            EVENNIA_SUPERUSER_USERNAME=self.username,
            EVENNIA_SUPERUSER_PASSWORD=self.password,
            EVENNIA_SUPERUSER_EMAIL="",
            PYTHONDONTWRITEBYTECODE="1",
            TIMMY_AGENTS="0",  # tests that want the agents say so
        )
        self.env.update(extra_env or {})
        self.output = ""

    def timmy(self, *args, timeout=300, check=True):
        """Run `bin/timmy ARGS` in the copy; return the CompletedProcess."""
        result = subprocess.run(
            [sys.executable, os.path.join(self.game_dir, "bin", "timmy"), *args],
            cwd=self.game_dir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
        self.output += result.stdout
        if check and result.returncode != 0:
            raise RuntimeError(f"bin/timmy {' '.join(args)} failed:\n{result.stdout}\n{self.log_tail()}")
        return result

    def start(self):
        """Start the world and wait until it is ready."""
        self.timmy("run")
        return self

    def stop(self):
        """Stop the world; return the pids that are still alive afterwards."""
        self.timmy("stop", check=False)
        return self.stray_processes()

    def stray_processes(self):
        """Live (non-zombie) processes that belong to this copy (by command line or cwd)."""
        return processes_of(self.game_dir)

    def log_tail(self, name="server.log", lines=40):
        """The last lines of one of the copy's logs, for failure messages."""
        path = os.path.join(self.game_dir, "server", "logs", name)
        try:
            with open(path, errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return f"(no {name})"

    def cleanup(self):
        """Stop if needed and delete the copy (kept when TIMMY_TEST_KEEP_WORLD=1, to debug)."""
        self.stop()
        if os.environ.get("TIMMY_TEST_KEEP_WORLD") == "1":
            print(f"\nkept the world copy at {self.game_dir}", file=sys.stderr)
            return
        shutil.rmtree(os.path.dirname(self.game_dir), ignore_errors=True)

    def wait_for(self, predicate, timeout=30.0, interval=0.25):
        """Poll `predicate` until true; return its last value."""
        deadline = time.monotonic() + timeout
        value = predicate()
        while not value and time.monotonic() < deadline:
            time.sleep(interval)
            value = predicate()
        return value
