"""
Recovery fixtures: a clean engine, service states, scripted or real
toolkits, restart commands that start fake services as real processes, and
a way to run the real reactor inside a database test.
"""

import os
import shutil
import signal
import sys
import tempfile
import time
from unittest.mock import patch

from django.test import override_settings
from evennia.utils import create
from twisted.internet import defer, task
from twisted.python.failure import Failure

from world.agentfleet import ensure_agents, find_agent
from world.heartbeat.probes import ProbeResult, probe
from world.recovery import confirm, engine
from world.recovery.process import CommandResult, run_command
from world.recovery.toolkit import Toolkit
from world.servicestate import UP

from .fixtures import BuiltWorldMixin, private_agent_credentials

SUPPORT = os.path.dirname(os.path.abspath(__file__))
RESTART_SCRIPT = os.path.join(SUPPORT, "restart_fake_service.py")
HANG_SCRIPT = os.path.join(SUPPORT, "hang_and_fork.py")


def clear_reactor():
    """Cancel timers left on the global reactor by earlier tests (as ReactorTestCase does)."""
    from twisted.internet import reactor

    for call in reactor.getDelayedCalls():
        if call.active():
            call.cancel()


def stop_reactor_threads():
    """Stop the reactor's thread pool (trial's janitor does this after each trial test class).

    Its threads are not daemons: left running, the test process never exits.
    """
    from twisted.internet import reactor

    if getattr(reactor, "threadpool", None) is not None:
        reactor._stopThreadPool()


class SpinMixin:
    """For database tests that spin the real reactor: a clean reactor before, no threads after."""

    def setUp(self):
        super().setUp()
        clear_reactor()
        self.addCleanup(stop_reactor_threads)


def spin(deferred, timeout=30.0):
    """Run the real reactor until `deferred` fires; return its result (or raise its failure).

    For database tests (Django's TestCase) that need real processes and
    sockets: trial would spin the reactor but cannot roll the database back.
    Call clear_reactor() in setUp, before anything of the test is scheduled.
    """
    from twisted.internet import reactor

    outcome = []

    def done(result):
        outcome.append(result)
        if reactor.running:
            reactor.crash()

    deferred.addBoth(done)
    if not outcome:
        guard = reactor.callLater(timeout, reactor.crash)
        reactor.run()
        if guard.active():
            guard.cancel()
    if not outcome:
        raise AssertionError(f"nothing happened within {timeout} s")
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


def pause(seconds):
    """A Deferred that fires after `seconds` on the real reactor."""
    from twisted.internet import reactor

    return task.deferLater(reactor, seconds, lambda: None)


def set_service_state(name, state, reason="", details=None):
    """Make the heartbeat's memory say `name` is `state` (what servicestate.current reads)."""
    from world.heartbeat.service import heartbeat_script

    script = heartbeat_script()
    memory = dict(script.tracker_memory or {})
    memory[name] = {"state": state, "since": time.time(), "candidate": None, "streak": 0}
    latest = dict(script.latest or {})
    latest[name] = ProbeResult(name, state, reason or state, 5.0, time.time(), details or {}).as_dict()
    script.tracker_memory, script.latest = memory, latest


class ScriptedProbes:
    """Probe answers per service, in order; the last one repeats."""

    def __init__(self, **answers):
        self.answers = {name: list(states) for name, states in answers.items()}
        self.calls = []

    def __call__(self, check, clock=None):
        self.calls.append(check.name)
        queue = self.answers.get(check.name) or [("down", "connection refused")]
        state, reason, *details = queue.pop(0) if len(queue) > 1 else queue[0]
        return defer.succeed(ProbeResult(check.name, state, reason, 3.0, time.time(), details[0] if details else {}))


class ScriptedCommands:
    """Command results by program name (argv[0]'s basename or the whole argv[1]); records argv."""

    def __init__(self, exit_code=0, output="done\n"):
        self.exit_code, self.output = exit_code, output
        self.argvs = []

    def __call__(self, argv, timeout, reactor=None, output_limit=None, cwd=None):
        self.argvs.append(list(argv))
        return defer.succeed(CommandResult(list(argv), exit_code=self.exit_code, duration=0.1, output=self.output,
                                           output_bytes=len(self.output), digest="0" * 64))


def scripted_kit(probes=None, commands=None, clock=None):
    """A Toolkit that touches nothing real: a task.Clock, scripted probes and commands."""
    return Toolkit(clock=clock or task.Clock(), probe=probes or ScriptedProbes(),
                   run_command=commands or ScriptedCommands(), in_thread=defer.maybeDeferred, poll=1.0)


def real_kit(poll=0.1):
    """The real thing, polling quickly."""
    from twisted.internet import reactor
    from twisted.internet import threads

    return Toolkit(clock=reactor, probe=probe, run_command=run_command, in_thread=threads.deferToThread, poll=poll)


def restart_entry(kind, port, pidfile, timeout=15, **options):
    """A RECOVERY_COMMANDS entry running tests/support/restart_fake_service.py."""
    argv = [sys.executable, RESTART_SCRIPT, "--kind", kind, "--port", str(port), "--pidfile", pidfile]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return {"argv": argv, "timeout": timeout}


def kill_pidfile(path):
    """Stop the daemon whose pid is in `path` (test cleanup)."""
    try:
        with open(path) as handle:
            os.kill(int(handle.read().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class RecoveryMixin:
    """No run under way, no pending code, an ops channel that records, quick deadlines.

    Accounts get a fast password hash here (the agents' five accounts would
    otherwise cost seconds per test).
    """

    def setUp(self):
        hashers = override_settings(PASSWORD_HASHERS=FAST_HASHERS)
        hashers.enable()
        self.addCleanup(hashers.disable)
        super().setUp()
        engine._RUNNING.clear()
        confirm.clear()
        self.addCleanup(engine._RUNNING.clear)
        self.addCleanup(confirm.clear)
        self.tmp = tempfile.mkdtemp(prefix="timmy-recovery-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.settings_override = override_settings(
            RECOVERY_SERVICE_WAIT=5, RECOVERY_AGENT_WAIT=5, RECOVERY_AGENT_RESTART_GRACE=2, RECOVERY_ORPHAN_WAIT=5,
            RECOVERY_OUTBOX_WAIT=5,
            RECOVERY_AGENT_RUN_DIR=self.tmp, RECOVERY_COMMANDS={},
        )
        self.settings_override.enable()
        self.addCleanup(self.settings_override.disable)
        if not hasattr(self, "ops"):  # IncidentMixin makes one that records already
            self.ops_lines = []
            self.ops = create.create_channel("ops", locks="listen:all();send:all()")
            patcher = patch.object(self.ops, "msg", side_effect=lambda text, **kw: self.ops_lines.append(str(text)))
            patcher.start()
            self.addCleanup(patcher.stop)

    def recover_settings(self, **values):
        """Override more settings for this test."""
        override = override_settings(**values)
        override.enable()
        self.addCleanup(override.disable)

    def up(self, *names):
        for name in names:
            set_service_state(name, UP)


class AgentsMixin(BuiltWorldMixin):
    """The regions and the five agents (credentials in a temp file), with `online` under test control."""

    def setUp(self):
        self.credentials_dir = private_agent_credentials(self)
        super().setUp()
        ensure_agents()
        self.online_agents = set()
        agent_class = type(find_agent("Timmy"))
        patcher = patch.object(agent_class, "online", new=property(lambda agent: agent.key in self.online_agents))
        patcher.start()
        self.addCleanup(patcher.stop)
        self.told = []  # (agent, command) sent to runtimes
        patcher = patch("world.agentfleet.control", side_effect=self._control)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _control(self, agent, command):
        self.told.append((agent.key, command))
        return agent.online

    def agent(self, name):
        return find_agent(name)

    def bring_online(self, *names, seen=None):
        """Agents that are online and answering (seen now)."""
        for name in names:
            self.online_agents.add(name)
            self.agent(name).last_seen = seen or time.time()

