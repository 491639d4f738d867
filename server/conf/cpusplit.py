"""
The Server's and the Portal's reactor threads on CPUs of their own.

Why (README, Latency, finding 31): every message between the Portal and the
Server wakes the other process, and Linux puts a task woken by a socket
write on the writer's CPU (a "sync" wake-up, the writer being expected to
sleep soon) and lets it run at once. So the Portal, woken by the Server's
answer to a player's command, took the Server's CPU while the Server was
still inside its `send()`. With 100 players the Server was switched out
against its will about 30 times a second, and a send that costs 0.04 ms of
CPU held the reactor 0.2 ms on average (0.46 ms at p90): time in which an
operator's command read in the same turn waited. With the two reactor
threads on different CPUs: 3 such switches a second, 0.06 ms a send.

How: the service plugins call `install("server")` / `install("portal")` in
the reactor's thread at startup. Of the CPUs the game was started on (the
launch set), the Server's reactor thread gets the lowest, the Portal's the
others. Only the reactor threads are kept there: the worker threads of
every Twisted thread pool in the process (the reactor's: password hashes,
backups, reports; Evennia's web server's: Django's requests) move onto the
whole launch set as they start (`ThreadPool.threadFactory`, the class's
documented hook, set in this process only), and so do the processes the
Server starts (the recovery runner's trampoline,
world/recovery/process.py, reads `TIMMY_CPU_SET`). The launch set is taken
from `TIMMY_CPU_SET` when it is set, because the Portal starts a reloaded
Server from its own (pinned) reactor thread and a child inherits that
thread's CPUs; otherwise it is this process's CPUs at startup, and it is
written to `TIMMY_CPU_SET` for the children. With fewer than two CPUs, on a
system without CPU affinity, with `TIMMY_CPU_SPLIT=0`, or where the process
may not use those CPUs (logged as a warning), nothing changes.
"""

import os
import threading

from evennia.utils import logger

CPU_SET_VARIABLE = "TIMMY_CPU_SET"


def enabled(environ=os.environ):
    """False when TIMMY_CPU_SPLIT is 0/off/no/false."""
    return environ.get("TIMMY_CPU_SPLIT", "1").strip().lower() not in ("0", "off", "no", "false")


def supported():
    """True where threads can be given CPUs (Linux)."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def format_cpus(cpus):
    """`{0, 1, 3}` -> "0,1,3"."""
    return ",".join(str(cpu) for cpu in sorted(cpus))


def parse_cpus(text):
    """"0,1,3" -> frozenset({0, 1, 3}); None for an empty or malformed value."""
    try:
        cpus = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        return None
    return cpus if cpus and min(cpus) >= 0 else None


def launch_cpus(environ=os.environ, current=None):
    """The CPUs the game was started on: TIMMY_CPU_SET if valid, else `current` (this thread's CPUs)."""
    recorded = parse_cpus(environ.get(CPU_SET_VARIABLE, ""))
    if recorded:
        return recorded
    return frozenset(os.sched_getaffinity(0) if current is None else current)


def shares(cpus):
    """{"server": the lowest CPU, "portal": the others}, or None for fewer than two CPUs."""
    if len(cpus) < 2:
        return None
    first = min(cpus)
    return {"server": frozenset({first}), "portal": frozenset(cpus) - {first}}


def free_thread_factory(cpus):
    """A `threading.Thread` class whose threads first move themselves onto `cpus`."""

    class FreeThread(threading.Thread):
        """A worker thread that does not inherit its starter's CPU."""

        def run(self):
            try:
                os.sched_setaffinity(0, cpus)
            except OSError:
                pass  # a CPU went offline: keep the inherited ones
            super().run()

    return FreeThread


def free_threads(cpus):
    """Put every thread this process already has onto `cpus` (a reloaded Server inherits the Portal's)."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (OSError, ValueError):
            pass  # the thread ended meanwhile


def install(role, pool=None, environ=os.environ):
    """Keep the calling (reactor) thread on `role`'s CPUs; return them, or None when nothing changed.

    Args:
        role (str): "server" or "portal".
        pool (ThreadPool or class, optional): Whose `threadFactory` to set (default: Twisted's
            ThreadPool class, so every pool in this process; tests pass their own).
        environ (dict): Where TIMMY_CPU_SPLIT and TIMMY_CPU_SET are read and the launch set written.
    """
    if not (enabled(environ) and supported()):
        return None
    cpus = launch_cpus(environ) & frozenset(range(os.cpu_count() or 0))  # a recorded CPU may be gone
    split = shares(cpus)
    if split is None:
        return None
    try:
        free_threads(cpus)
        os.sched_setaffinity(0, split[role])
    except OSError as err:  # e.g. a container that may not use those CPUs: run as before
        logger.log_warn(f"cpusplit: the {role}'s reactor keeps every CPU ({err})")
        return None
    if pool is None:
        from twisted.python.threadpool import ThreadPool as pool
    environ[CPU_SET_VARIABLE] = format_cpus(cpus)
    pool.threadFactory = free_thread_factory(cpus)
    return split[role]
