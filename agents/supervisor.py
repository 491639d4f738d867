"""
The agent supervisor: one process per agent, restarted when it dies.

    python -m agents.supervisor [Name ...]

`bin/timmy run` starts it detached after the server is ready (unless
TIMMY_AGENTS=0); `bin/timmy stop` stops it, and it stops its agents. A
crashed agent is restarted with exponential backoff (1 s doubling to 60 s,
back to 1 s once it has lived a minute); an agent that exits with the
restart code (an operator's `@agents/restart`) is restarted at once. Pid files
go to agents/run/, each agent's output to server/logs/agent-<name>.log.

SIGTERM (or SIGINT) stops the reactor with Twisted's own handlers, which also
reap the agents as they exit (SIGCHLD); before the reactor shuts down the
supervisor TERMs its agents (each closes its websocket) and waits for them,
KILLing any left after KILL_AFTER seconds.

Only one supervisor runs per game directory: it holds an exclusive lock on
agents/run/supervisor.lock for its whole life, and a second one (two
`bin/timmy agents start` at once, or self-healing's start racing
`bin/timmy run`'s) exits at once without starting anything.
"""

import fcntl
import os
import sys
import time

from twisted.internet import defer, protocol, reactor
from twisted.python import log

from agents import config as runtime_config
from agents.personas import load_personas
from agents.process import RESTART_EXIT_CODE

RUN_DIR = os.path.join(runtime_config.GAME_DIR, "agents", "run")
ALREADY_RUNNING_EXIT_CODE = 3
LOG_DIR = os.path.join(runtime_config.GAME_DIR, "server", "logs")
MAX_BACKOFF, HEALTHY_AFTER, KILL_AFTER, KILL_GRACE, STAGGER = 60.0, 60.0, 5.0, 2.0, 0.7


class AgentProcess(protocol.ProcessProtocol):
    """Watches one agent's process and restarts it when it ends."""

    def __init__(self, supervisor, name):
        self.supervisor, self.name = supervisor, name
        self.failures, self.started_at, self.transport = 0, 0.0, None
        self.logfile = None
        self.pending = None

    @property
    def alive(self):
        """True while the agent's process runs."""
        return bool(self.transport and self.transport.pid)

    def schedule(self, delay):
        """Spawn the agent after `delay` seconds."""
        self.pending = reactor.callLater(delay, self.spawn)

    def cancel(self):
        """Forget a spawn that is still to come."""
        if self.pending and self.pending.active():
            self.pending.cancel()
        self.pending = None

    def spawn(self):
        """Start the agent's process (not once the supervisor is stopping)."""
        self.pending = None
        if self.supervisor.stopping:
            return
        self.started_at = time.monotonic()
        self.logfile = open(os.path.join(LOG_DIR, f"agent-{self.name.lower()}.log"), "ab")
        argv = [sys.executable, "-m", "agents.process", self.name]
        reactor.spawnProcess(self, sys.executable, argv, env=os.environ.copy(), path=runtime_config.GAME_DIR)
        _write_pid(self.name, self.transport.pid)
        log.msg(f"started {self.name} (pid {self.transport.pid})")

    def outReceived(self, data):
        """Copy the agent's output to its log file."""
        self.logfile.write(data)
        self.logfile.flush()

    errReceived = outReceived

    def processEnded(self, reason):
        """The agent's process ended (reaped on SIGCHLD): restart it, unless stopping."""
        code = getattr(reason.value, "exitCode", None)
        self.logfile.close()
        _remove_pid(self.name)
        if self.supervisor.stopping:
            log.msg(f"{self.name} stopped (code {code})")
            self.supervisor.ended()
            return
        self.schedule(self._restart_delay(code))

    def _restart_delay(self, code):
        """Seconds to wait before the next start: none for a restart, else backoff."""
        lived = time.monotonic() - self.started_at
        if code == RESTART_EXIT_CODE:
            delay = 0.0
        else:
            self.failures = 0 if lived > HEALTHY_AFTER else self.failures + 1
            delay = min(MAX_BACKOFF, 2 ** max(0, self.failures - 1)) if self.failures else 1.0
        log.msg(f"{self.name} exited (code {code}); restarting in {delay:.0f} s")
        return delay


class Supervisor:
    """Starts the agents, and stops them all when the reactor shuts down."""

    def __init__(self, names):
        self.children = {name: AgentProcess(self, name) for name in names}
        self.stopping = False
        self.all_ended = None
        self.killer = None

    def start(self):
        """Spawn the agents a little apart (the Portal rate-limits new connections)."""
        for index, child in enumerate(self.children.values()):
            child.schedule(index * STAGGER)

    def stop(self):
        """Stop every agent: SIGTERM now, SIGKILL to those left after KILL_AFTER s.

        A "before shutdown" trigger: SIGTERM or SIGINT stop the reactor, which
        waits for the Deferred returned here before it shuts down.

        Returns:
            Deferred: Fires when every agent's process has ended (at the latest
                KILL_AFTER + KILL_GRACE seconds from now).
        """
        if self.stopping:
            return defer.succeed(None)
        self.stopping = True
        self.all_ended = defer.Deferred()
        self.all_ended.addTimeout(KILL_AFTER + KILL_GRACE, reactor)
        self.all_ended.addErrback(log.err, "agent processes did not end in time")
        for child in self.children.values():
            child.cancel()
            if child.alive:
                child.transport.signalProcess("TERM")
        self.killer = reactor.callLater(KILL_AFTER, self._kill_rest)
        self.ended()
        return self.all_ended

    def _kill_rest(self):
        """SIGKILL the agents still running."""
        for child in self.children.values():
            if child.alive:
                log.msg(f"{child.name} ignored SIGTERM for {KILL_AFTER:.0f} s; killing it")
                child.transport.signalProcess("KILL")

    def ended(self):
        """One agent ended while stopping: done once none is left."""
        if any(child.alive for child in self.children.values()):
            return
        if self.killer and self.killer.active():
            self.killer.cancel()
        if not self.all_ended.called:
            self.all_ended.callback(None)


def _write_pid(name, pid):
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(os.path.join(RUN_DIR, f"{name.lower()}.pid"), "w") as handle:
        handle.write(str(pid))


def _remove_pid(name):
    try:
        os.remove(os.path.join(RUN_DIR, f"{name.lower()}.pid"))
    except FileNotFoundError:
        pass


def hold_the_supervisor_lock():
    """Lock agents/run/supervisor.lock for this process's life.

    Returns:
        int or None: The locked file descriptor (keep it open), or None if
            another supervisor holds the lock.
    """
    os.makedirs(RUN_DIR, exist_ok=True)
    fd = os.open(os.path.join(RUN_DIR, "supervisor.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def main(argv):
    log.startLogging(sys.stdout)
    if hold_the_supervisor_lock() is None:
        log.msg("Another agent supervisor is running here; this one exits.")
        return ALREADY_RUNNING_EXIT_CODE
    cfg = runtime_config.from_environment()
    names = argv or list(load_personas(cfg.personas_file).names)
    os.makedirs(LOG_DIR, exist_ok=True)
    _write_pid("supervisor", os.getpid())
    supervisor = Supervisor(names)
    reactor.addSystemEventTrigger("before", "shutdown", supervisor.stop)
    reactor.addSystemEventTrigger("after", "shutdown", _remove_pid, "supervisor")
    reactor.callWhenRunning(supervisor.start)
    reactor.run()  # Twisted's handlers: SIGTERM/SIGINT stop the reactor, SIGCHLD reaps the agents
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
