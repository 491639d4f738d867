"""
The agent runtime stops cleanly: real processes against a websocket on loopback.

A small autobahn websocket server on the test's reactor stands in for the
Portal: it answers an agent's `connect` with `logged_in`, as Evennia does, and
records how each connection ends. Evennia logs a webclient session out only
when a close frame (1000 or 1001) arrives; a connection that merely drops
keeps the agent "online". So an agent process that gets SIGTERM, or that
leaves to be restarted (exit 75), must send a close frame with code 1000 and
finish the handshake. The supervisor, sent SIGTERM as `bin/timmy stop` does,
must stop its agent and exit within a few seconds, leaving no process behind.
It runs in a copy of the game directory, so its pid files and logs stay there.

The supervisor must learn that a child ended from SIGCHLD. Without a handler,
Twisted tries to reap a child once, when its pipes close; a child that is not
quite dead at that moment is never reaped, and the supervisor waits for it
for ever (`bin/timmy stop` then kills the group after 30 s). A real agent
loses that race only now and then; a stand-in agent that closes its output
before it exits loses it every time.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import defer, reactor, task

from .support.livesupport import closed_port_url
from .support.liveworld import GAME_DIR, copy_game_dir
from .support.procs import processes_of, running
from .support.reactor import ReactorTestCase

AGENT = "Timmy"
PASSWORD = "loopback-only-password"
POLL = 0.05
START_TIMEOUT = 10.0  # two Python start-ups (supervisor, agent) on a busy machine
STOP_WITHIN = 4.0  # below the supervisor's KILL_AFTER (5 s): nothing had to be killed
CLEAN_CLOSE = (True, 1000)
STAND_IN_AGENT = '''"""A stand-in agent process: on SIGTERM it closes its output, and only then exits."""
import os
import signal
import time

RESTART_EXIT_CODE = 75


def leave(*_):
    for fd in (0, 1, 2):
        os.close(fd)
    time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, leave)
    print("ready", flush=True)
    while True:
        time.sleep(60)
'''


class PortalStandIn(WebSocketServerProtocol):
    """One agent's websocket, answered like Evennia's webclient answers it."""

    def onMessage(self, payload, is_binary):
        cmdname, args, _ = json.loads(payload.decode("utf-8"))
        if cmdname == "text" and args and str(args[0]).startswith(f"connect {AGENT} "):
            self.factory.logins.append(self)
            self.send_json("logged_in")

    def send_json(self, cmdname, *args):
        """Send one Evennia message `[cmdname, args, {}]`."""
        self.sendMessage(json.dumps([cmdname, list(args), {}]).encode("utf-8"))

    def onClose(self, was_clean, code, reason):
        self.factory.closes.append((was_clean, code))


def portal_factory():
    """A server factory that records the logins and how each connection closed."""
    factory = WebSocketServerFactory()
    factory.protocol = PortalStandIn
    factory.logins, factory.closes = [], []
    return factory


@defer.inlineCallbacks
def wait_for(predicate, timeout, what):
    """Poll `predicate` on the reactor until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        yield task.deferLater(reactor, POLL, lambda: None)


class AgentRuntimeStopTests(ReactorTestCase):
    """Real agent and supervisor processes against a loopback websocket."""

    timeout = 15

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="timmy-agent-stop-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.portal = portal_factory()
        self.listening = reactor.listenTCP(0, self.portal, interface="127.0.0.1")
        self.addCleanup(self.listening.stopListening)

    # -- helpers

    def environment(self):
        """The runtime's variables: our websocket, a credentials file, an Ollama that is not there."""
        credentials = os.path.join(self.tmp, "agent_credentials.json")
        with open(credentials, "w") as handle:
            json.dump({AGENT: PASSWORD}, handle)
        env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        env.update(
            TIMMY_WEBSOCKET_URL=f"ws://127.0.0.1:{self.listening.getHost().port}",
            TIMMY_AGENT_CREDENTIALS=credentials, OLLAMA_HOST=closed_port_url(), PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def start(self, module, cwd):
        """Start `python -m module Timmy` in its own session; it is killed if a test leaves it running."""
        self.output = os.path.join(self.tmp, "output.log")
        with open(self.output, "wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", module, AGENT], cwd=cwd, env=self.environment(),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.addCleanup(self.kill_group, process)
        return process

    def kill_group(self, process):
        """Kill `process` and its session if the test left it running."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def logs(self, *extra):
        """What the process under test (and any `extra` log files) wrote, for failure messages."""
        text = ""
        for path in (self.output, *extra):
            try:
                with open(path, errors="replace") as handle:
                    text += f"\n--- {path}\n" + handle.read()[-3000:]
            except OSError:
                text += f"\n--- {path}: none"
        return text

    @defer.inlineCallbacks
    def logged_in(self, *extra_logs):
        """Wait until the agent has logged in over the websocket."""
        try:
            yield wait_for(lambda: self.portal.logins, START_TIMEOUT, "the agent's login")
        except AssertionError as exc:
            self.fail(f"{exc}{self.logs(*extra_logs)}")

    @defer.inlineCallbacks
    def exit_code(self, process, within, *extra_logs):
        """Wait at most `within` seconds for `process` to exit; return its exit code."""
        try:
            yield wait_for(lambda: process.poll() is not None, within, f"pid {process.pid} exiting")
        except AssertionError as exc:
            self.fail(f"{exc}{self.logs(*extra_logs)}")
        return process.returncode

    # -- the agent process alone

    @defer.inlineCallbacks
    def test_sigterm_closes_the_websocket_with_1000_before_the_agent_exits(self):
        agent = self.start("agents.process", GAME_DIR)
        yield self.logged_in()
        os.kill(agent.pid, signal.SIGTERM)
        code = yield self.exit_code(agent, STOP_WITHIN)
        yield wait_for(lambda: self.portal.closes, 2.0, "the server noticing the close")
        self.assertEqual(self.portal.closes, [CLEAN_CLOSE], self.logs())
        self.assertEqual(code, 0, self.logs())

    @defer.inlineCallbacks
    def test_a_restart_closes_the_websocket_with_1000_and_exits_75(self):
        agent = self.start("agents.process", GAME_DIR)
        yield self.logged_in()
        self.portal.logins[0].send_json("agent_control", {"command": "restart"})
        code = yield self.exit_code(agent, STOP_WITHIN)
        yield wait_for(lambda: self.portal.closes, 2.0, "the server noticing the close")
        self.assertEqual(self.portal.closes, [CLEAN_CLOSE], self.logs())
        self.assertEqual(code, 75, self.logs())

    # -- the supervisor and its agent

    def supervised(self, stand_in=False):
        """Start the supervisor with one agent in a copy of the game directory.

        Returns:
            tuple: The supervisor's Popen, the copy's path, the agent's log file.
        """
        game_dir = copy_game_dir(self.tmp)
        if stand_in:
            with open(os.path.join(game_dir, "agents", "process.py"), "w") as handle:
                handle.write(STAND_IN_AGENT)
        agent_log = os.path.join(game_dir, "server", "logs", "agent-timmy.log")
        return self.start("agents.supervisor", game_dir), game_dir, agent_log

    def agent_pid(self, game_dir):
        """The agent's pid, from the pid file the supervisor wrote."""
        with open(os.path.join(game_dir, "agents", "run", "timmy.pid")) as handle:
            return int(handle.read())

    @defer.inlineCallbacks
    def stops_cleanly(self, supervisor, game_dir, agent_log):
        """SIGTERM the supervisor as `bin/timmy stop` does; it and its agent must be gone within seconds."""
        agent_pid = self.agent_pid(game_dir)
        self.assertTrue(running(agent_pid))
        os.kill(supervisor.pid, signal.SIGTERM)
        code = yield self.exit_code(supervisor, STOP_WITHIN, agent_log)
        self.assertEqual(code, 0, self.logs(agent_log))
        self.assertFalse(running(agent_pid), f"agent pid {agent_pid} outlived its supervisor")
        self.assertEqual(processes_of(game_dir), [])
        left = [name for name in os.listdir(os.path.join(game_dir, "agents", "run")) if name.endswith(".pid")]
        self.assertEqual(left, [])  # no pid file left

    @defer.inlineCallbacks
    def test_sigterm_stops_the_supervisor_and_its_agent_within_seconds(self):
        supervisor, game_dir, agent_log = self.supervised()
        yield self.logged_in(agent_log)
        yield self.stops_cleanly(supervisor, game_dir, agent_log)
        yield wait_for(lambda: self.portal.closes, 2.0, "the server noticing the close")
        self.assertEqual(self.portal.closes, [CLEAN_CLOSE], self.logs(agent_log))

    @defer.inlineCallbacks
    def test_a_second_supervisor_exits_at_once_and_starts_nothing(self):
        supervisor, game_dir, agent_log = self.supervised()
        yield self.logged_in(agent_log)
        second = self.start("agents.supervisor", game_dir)
        code = yield self.exit_code(second, STOP_WITHIN, agent_log)
        self.assertEqual(code, 3, self.logs(agent_log))
        self.assertEqual(len(self.portal.logins), 1, "the second supervisor started an agent")
        yield self.stops_cleanly(supervisor, game_dir, agent_log)

    @defer.inlineCallbacks
    def test_an_agent_that_closes_its_output_before_it_exits_is_still_reaped(self):
        supervisor, game_dir, agent_log = self.supervised(stand_in=True)

        def ready():
            try:
                with open(agent_log) as handle:
                    return "ready" in handle.read()
            except OSError:
                return False

        yield wait_for(ready, START_TIMEOUT, "the stand-in agent starting")
        yield self.stops_cleanly(supervisor, game_dir, agent_log)
