"""
The agent supervisor: one process per agent, restarted when it dies.

    python -m agents.supervisor [Name ...]

`bin/timmy run` starts it detached after the server is ready (unless
TIMMY_AGENTS=0); `bin/timmy stop` stops it, and it stops its agents. A
crashed agent is restarted with exponential backoff (1 s doubling to 60 s,
back to 1 s once it has lived a minute); an agent that exits with the
restart code (an operator's `@agents/restart`) is restarted at once. Pid files
go to agents/run/, each agent's output to server/logs/agent-<name>.log.
"""

import os
import signal
import sys
import time

from twisted.internet import protocol, reactor
from twisted.python import log

from agents import config as runtime_config
from agents.personas import load_personas
from agents.process import RESTART_EXIT_CODE

RUN_DIR = os.path.join(runtime_config.GAME_DIR, "agents", "run")
LOG_DIR = os.path.join(runtime_config.GAME_DIR, "server", "logs")
MAX_BACKOFF, HEALTHY_AFTER, KILL_AFTER, STAGGER = 60.0, 60.0, 5.0, 0.7


class AgentProcess(protocol.ProcessProtocol):
    """Watches one agent's process and restarts it when it ends."""

    def __init__(self, supervisor, name):
        self.supervisor, self.name = supervisor, name
        self.failures, self.started_at, self.transport = 0, 0.0, None
        self.logfile = None

    def spawn(self):
        self.started_at = time.monotonic()
        self.logfile = open(os.path.join(LOG_DIR, f"agent-{self.name.lower()}.log"), "ab")
        argv = [sys.executable, "-m", "agents.process", self.name]
        reactor.spawnProcess(self, sys.executable, argv, env=os.environ.copy(), path=runtime_config.GAME_DIR)
        _write_pid(self.name, self.transport.pid)
        log.msg(f"started {self.name} (pid {self.transport.pid})")

    def outReceived(self, data):
        self.logfile.write(data)
        self.logfile.flush()

    errReceived = outReceived

    def processEnded(self, reason):
        code = getattr(reason.value, "exitCode", None)
        self.logfile.close()
        _remove_pid(self.name)
        if self.supervisor.stopping:
            self.supervisor.ended(self)
            return
        lived = time.monotonic() - self.started_at
        if code == RESTART_EXIT_CODE:
            delay = 0.0
        else:
            self.failures = 0 if lived > HEALTHY_AFTER else self.failures + 1
            delay = min(MAX_BACKOFF, 2 ** max(0, self.failures - 1)) if self.failures else 1.0
        log.msg(f"{self.name} exited (code {code}); restarting in {delay:.0f} s")
        reactor.callLater(delay, self.spawn)


class Supervisor:
    """Starts the agents and stops them all on SIGTERM."""

    def __init__(self, names):
        self.children = {name: AgentProcess(self, name) for name in names}
        self.stopping = False

    def start(self):
        """Spawn the agents a little apart (the Portal rate-limits new connections)."""
        for index, child in enumerate(self.children.values()):
            reactor.callLater(index * STAGGER, child.spawn)

    def stop(self, *_):
        if self.stopping:
            return
        self.stopping = True
        alive = [child for child in self.children.values() if child.transport and child.transport.pid]
        if not alive:
            reactor.stop()
            return
        for child in alive:
            child.transport.signalProcess("TERM")
        reactor.callLater(KILL_AFTER, self._kill_rest)

    def _kill_rest(self):
        for child in self.children.values():
            if child.transport and child.transport.pid:
                child.transport.signalProcess("KILL")

    def ended(self, child):
        if all(not (c.transport and c.transport.pid) or c is child for c in self.children.values()):
            if reactor.running:
                reactor.stop()


def _write_pid(name, pid):
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(os.path.join(RUN_DIR, f"{name.lower()}.pid"), "w") as handle:
        handle.write(str(pid))


def _remove_pid(name):
    try:
        os.remove(os.path.join(RUN_DIR, f"{name.lower()}.pid"))
    except FileNotFoundError:
        pass


def main(argv):
    log.startLogging(sys.stdout)
    cfg = runtime_config.from_environment()
    names = argv or list(load_personas(cfg.personas_file).names)
    os.makedirs(LOG_DIR, exist_ok=True)
    _write_pid("supervisor", os.getpid())
    supervisor = Supervisor(names)
    signal.signal(signal.SIGTERM, lambda *_: reactor.callFromThread(supervisor.stop))
    signal.signal(signal.SIGINT, lambda *_: reactor.callFromThread(supervisor.stop))
    reactor.callWhenRunning(supervisor.start)
    reactor.run(installSignalHandlers=False)
    _remove_pid("supervisor")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
