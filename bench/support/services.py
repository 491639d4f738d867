"""
The processes and services around a benchmarked world: a fake Ollama in its
own process, an HTTP service that can answer or hang, and Evennia's own
dummyrunner (`evennia --dummyrunner N`).
"""

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVENNIA = os.path.join(os.path.dirname(sys.executable), "evennia")


def free_port():
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_env(env):
    """`env` with the virtualenv's bin first on PATH (the launcher runs twistd)."""
    env = dict(env)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _stop_group(process, sig=signal.SIGTERM, timeout=20.0):
    """Signal the process group we started and wait; SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class FakeOllamaProcess:
    """tests/support/fake_ollama.py as its own process (its CPU is not the world's)."""

    def __init__(self, port, delay):
        self.port, self.delay = port, delay
        self.url = f"http://127.0.0.1:{port}"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(GAME_DIR, "tests", "support", "fake_ollama.py"),
             "--port", str(self.port), "--delay", str(self.delay)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        line = self.process.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"fake ollama did not start: {line}")
        return self

    def stop(self):
        if self.process:
            _stop_group(self.process)


class SwitchableHTTP:
    """An HTTP service on loopback that answers 200 or, once told to, hangs.

    A hanging request is held open without an answer until the client gives
    up (its probe timeout) and closes; no thread is kept per request.
    """

    def __init__(self):
        self.hang = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="switchable-http", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _serve(self):
        buffers = {}
        while not self._stopping.is_set():
            for key, _ in self._selector.select(0.2):
                if key.fileobj is self.listener:
                    try:
                        conn, _ = self.listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    buffers[conn] = b""
                    self._selector.register(conn, selectors.EVENT_READ)
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self._selector.unregister(conn)
                    buffers.pop(conn, None)
                    conn.close()
                    continue
                buffers[conn] += data
                if b"\r\n\r\n" in buffers[conn] and not self.hang:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    buffers[conn] = b""


class DummyRunner:
    """`evennia --dummyrunner N` in a game directory, until stopped.

    Args:
        game_dir (str): The game directory (its settings give the port).
        count (int): Number of dummy players.
        env (dict): Environment (ports, settings switches).
        log_path (str): Where its output goes.
    """

    LOGGED_IN = re.compile(r"^== logged in", re.M)

    def __init__(self, game_dir, count, env, log_path):
        self.game_dir, self.count, self.env, self.log_path = game_dir, count, env, log_path
        self.process = None

    def start(self):
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [EVENNIA, "--dummyrunner", str(self.count)], cwd=self.game_dir, env=venv_env(self.env),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def logged_in(self):
        """How many dummies have logged in so far."""
        with open(self.log_path, errors="replace") as handle:
            return len(self.LOGGED_IN.findall(handle.read()))

    def wait_logged_in(self, timeout):
        """Wait until every dummy has logged in (or `timeout`); return the count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.logged_in() >= self.count:
                break
            time.sleep(1.0)
        return self.logged_in()

    def pids(self):
        """The launcher and the dummyrunner process (its child)."""
        return [self.process.pid] if self.process else []

    def stop(self):
        """Ctrl-C (the dummies log out), then wait."""
        if self.process:
            _stop_group(self.process, signal.SIGINT, timeout=30)
            self._log.close()
