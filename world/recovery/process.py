"""
Run one allowlisted command as a real process, without a shell and without
blocking the reactor.

The command is spawned through a tiny trampoline (`python -c`) that calls
`os.setsid()` and then execs the argv, so the command leads a new session and
process group whose id is its pid. At the timeout the whole group is killed
with SIGKILL, grandchildren included. Output (stdout and stderr, interleaved)
is kept up to a bound and hashed in full (SHA-256). A command that exits but
leaves something holding its output open is given a short grace, then its
group is killed and the pipes closed. The trampoline also moves the command
onto every CPU the game was started on (`TIMMY_CPU_SET`, written by
server/conf/cpusplit.py): a child inherits the CPU of the thread that
spawned it, and the Server's reactor thread keeps to one.
"""

import hashlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field

from twisted.internet import defer, error, protocol

# Runs in the child: a new session (so a new process group), then the command.
TRAMPOLINE = (
    "import os, sys\n"
    "os.setsid()\n"
    "cpus = os.environ.get('TIMMY_CPU_SET', '')\n"
    "try:\n"
    "    if cpus and hasattr(os, 'sched_setaffinity'):\n"
    "        os.sched_setaffinity(0, [int(cpu) for cpu in cpus.split(',')])\n"
    "except (OSError, ValueError):\n"
    "    pass\n"
    "try:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "except OSError as err:\n"
    "    sys.stderr.write(f'cannot run {sys.argv[1]}: {err.strerror}\\n')\n"
    "    os._exit(127)\n"
)
EXIT_GRACE = 1.0
TRUNCATED_NOTE = "\n[output truncated: {total} bytes in all, the first {kept} kept]\n"


@dataclass
class CommandResult:
    """What one command did."""

    argv: list
    exit_code: int = None
    signal: int = None
    duration: float = 0.0
    output: str = ""
    output_bytes: int = 0
    digest: str = ""
    truncated: bool = False
    timed_out: bool = False
    error: str = ""
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        """Exited by itself with code 0."""
        return self.exit_code == 0 and not self.timed_out and not self.error

    def outcome_text(self):
        """'exit 0', 'exit 3', 'killed after 5 s timeout', 'not found', ..."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"killed (with its process group) after the {self.duration:.0f} s timeout"
        if self.exit_code is None:
            return f"ended by signal {self.signal}"
        return f"exit {self.exit_code}"


def run_command(argv, timeout, reactor=None, output_limit=64 * 1024, env=None, cwd=None):
    """Run `argv` (a list, no shell); return a Deferred firing with a CommandResult.

    Never errbacks: a program that cannot be found or spawned gives a result
    with `error` set.

    Args:
        argv (list of str): The program and its arguments.
        timeout (float): Seconds before the whole process group is killed.
        reactor (optional): The reactor (the global one by default).
        output_limit (int): Bytes of output kept; the rest is counted and hashed.
        env (dict, optional): The environment (a copy of os.environ by default).
        cwd (str, optional): Working directory.
    """
    if reactor is None:
        from twisted.internet import reactor
    argv = [str(part) for part in argv]
    if not argv or not _runnable(argv[0], cwd):
        return defer.succeed(CommandResult(argv, error=f"not found: {argv[0] if argv else '(empty)'}"))
    watcher = _Watcher(argv, timeout, reactor, output_limit)
    try:
        reactor.spawnProcess(watcher, sys.executable, [sys.executable, "-c", TRAMPOLINE, *argv],
                             env=dict(os.environ if env is None else env), path=cwd, usePTY=False)
    except (OSError, error.ProcessExitedAlready) as err:
        return defer.succeed(CommandResult(argv, error=f"could not start: {err}"))
    return watcher.done


def _runnable(program, cwd):
    """True if `program` can be executed: on PATH, or a path (relative to `cwd`) to an executable."""
    if os.sep not in program:
        return shutil.which(program) is not None
    path = os.path.join(cwd or os.getcwd(), program)
    return os.path.isfile(path) and os.access(path, os.X_OK)


class _Watcher(protocol.ProcessProtocol):
    """Collects output, enforces the timeout, and reports once."""

    def __init__(self, argv, timeout, reactor, output_limit):
        self.result = CommandResult(list(argv))
        self.reactor, self.limit = reactor, output_limit
        self.done = defer.Deferred()
        self.buffer = bytearray()
        self.hasher = hashlib.sha256()
        self.started = time.monotonic()
        self.timer = reactor.callLater(timeout, self._timeout)
        self.grace = None
        self.pgid = None

    def connectionMade(self):
        self.pgid = self.transport.pid  # the trampoline's setsid makes its pid the group id
        self.transport.closeStdin()

    def childDataReceived(self, childFD, data):
        self.hasher.update(data)
        self.result.output_bytes += len(data)
        room = self.limit - len(self.buffer)
        if room > 0:
            self.buffer.extend(data[:room])

    def _timeout(self):
        self.result.timed_out = True
        self._kill_group()
        self._arm_grace()

    def _kill_group(self):
        """SIGKILL the command's process group (its pid: it called setsid)."""
        if not self.pgid:
            return
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:  # no such group (yet): kill the process itself
            try:
                self.transport.signalProcess("KILL")
            except (error.ProcessExitedAlready, OSError):
                pass
        except PermissionError:
            self.result.notes.append("could not kill its process group")

    def processExited(self, reason):
        """The command itself is gone; its output may still be held open by another process."""
        self.result.exit_code = getattr(reason.value, "exitCode", None)
        self.result.signal = getattr(reason.value, "signal", None)
        if not self.done.called:
            self._arm_grace()

    def _arm_grace(self):
        if self.grace is None or not self.grace.active():
            self.grace = self.reactor.callLater(EXIT_GRACE, self._force_end)

    def _force_end(self):
        """Something kept the pipes open after the command exited: kill the group, close, finish."""
        if self.done.called:
            return
        if not self.result.timed_out:
            self.result.notes.append("a process it started kept its output open; its group was killed")
        self._kill_group()
        try:
            self.transport.loseConnection()
        except Exception:  # the transport may already be gone
            pass
        self._finish()

    def processEnded(self, reason):
        if self.result.exit_code is None and self.result.signal is None:
            self.result.exit_code = getattr(reason.value, "exitCode", None)
            self.result.signal = getattr(reason.value, "signal", None)
        self._finish()

    def _finish(self):
        if self.done.called:
            return
        for call in (self.timer, self.grace):
            if call is not None and call.active():
                call.cancel()
        result = self.result
        result.duration = round(time.monotonic() - self.started, 3)
        result.digest = self.hasher.hexdigest()
        result.truncated = result.output_bytes > len(self.buffer)
        text = bytes(self.buffer).decode("utf-8", errors="replace")
        if result.truncated:
            text += TRUNCATED_NOTE.format(total=result.output_bytes, kept=len(self.buffer))
        result.output = text
        self.done.callback(result)
