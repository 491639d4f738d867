"""
Crashing a live world on purpose: `kill -9` of its Server process, and the
restart an operator does afterwards.

A crash here is what the kernel's OOM killer or a segfault does: SIGKILL to
the Server process alone. Evennia's Portal survives it (players' telnet
connections stay open to the Portal) and does not restart the Server by
itself; the operator runs `evennia start`, which finds the Portal running and
starts a new Server through it. `restart_server` does exactly that and waits
until the new Server has written its ready file.

`HangingGitea` is a fake Gitea that can be told to take a create-issue
request, file the issue, and then never answer: Gitea did the work, and the
client is still waiting when it is killed.
"""

import json
import os
import signal
import threading
from urllib.parse import urlparse

from .fake_gitea import FakeGitea
from .procs import running


def server_pid(world):
    """The pid in the world's server/server.pid (None if missing or unreadable)."""
    try:
        with open(os.path.join(world.game_dir, "server", "server.pid")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def kill_server(world):
    """SIGKILL the world's Server process; return its pid once it is dead.

    Raises:
        AssertionError: There is no live Server, or it did not die.
    """
    pid = server_pid(world)
    assert pid and running(pid), f"no live server to kill (pid file says {pid})"
    os.kill(pid, signal.SIGKILL)
    assert world.wait_for(lambda: not running(pid), timeout=10, interval=0.05), f"server {pid} survived SIGKILL"
    return pid


def ready_pid(world):
    """The pid the server wrote into its ready file (None if there is none)."""
    try:
        with open(os.path.join(world.game_dir, "server", "ready")) as handle:
            return json.load(handle).get("pid")
    except (OSError, ValueError, AttributeError):
        return None


def restart_server(world, dead_pid, timeout=90):
    """Start the Server again as an operator would (`make run`); return its pid.

    The Portal is still running: `bin/timmy status` says the Server is down,
    and `bin/timmy run` starts a new Server through the Portal and waits for
    its ready file.

    Raises:
        AssertionError: The world did not say it was down, the run failed or
            the server did not become ready.
    """
    status = world.timmy("status", check=False)
    assert status.returncode == 1 and "Server does not" in status.stdout, status.stdout
    result = world.timmy("run", timeout=timeout, check=False)
    assert result.returncode == 0 and "starting the Server again" in result.stdout, (
        f"bin/timmy run failed:\n{result.stdout}\n{world.log_tail()}")

    def new_server_ready():
        pid = server_pid(world)
        return pid if pid and pid != dead_pid and running(pid) and ready_pid(world) == pid else None

    pid = world.wait_for(new_server_ready, timeout=10, interval=0.2)
    assert pid, f"the server did not come back after the crash:\n{result.stdout}\n{world.log_tail()}"
    return pid


class HangingGitea(FakeGitea):
    """A fake Gitea that, while `hang_creates` is set, files an issue and never answers.

    Attributes:
        hang_creates (threading.Event): Set it to make create-issue requests hang.
        created (threading.Event): Set once a hanging create has filed its issue.
        release (threading.Event): Set it to let hanging requests end (unanswered).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hang_creates = threading.Event()
        self.created = threading.Event()
        self.release = threading.Event()

    def stop(self):
        self.release.set()
        super().stop()

    def posts(self, path_end="/issues"):
        """The POST requests whose path ends with `path_end`, in order."""
        with self.lock:
            return [body for method, path, body in self.requests if method == "POST" and path.endswith(path_end)]

    def requests_since(self, index):
        """(method, path) of the requests after the first `index` ones."""
        with self.lock:
            return [(method, path) for method, path, _body in self.requests[index:]]

    def _dispatch(self, handler, method):
        if not (method == "POST" and urlparse(handler.path).path.endswith("/issues") and self.hang_creates.is_set()):
            super()._dispatch(handler, method)
            return
        url = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        with self.lock:
            self.requests.append((method, url.path, body))
            self._route(handler, method, url, body)  # the issue is filed ...
        self.created.set()
        self.release.wait(120)  # ... and the answer never comes
        handler.close_connection = True

