"""
Benchmark instrumentation for the Server's reactor; inactive unless asked for.

Tail latency, not CPU, is what catches a blocked reactor: a call that blocks
0.5 s every 5 s costs under 1 % of a core but every command queued behind it
waits. `bench/latency.py` measures it with these switches:

- `TIMMY_LAG_PROBE_FILE=/path`: a timer due every 20 ms records how late it
  fires (the reactor's lag) and appends `<unix time> <lag ms>` lines to the
  file once a second.
- `TIMMY_STALL_FILE=/path` (with the probe): diagnostics; the reactor
  thread's stack is appended to the file whenever the timer is 30 ms
  (`TIMMY_STALL_MS`) late, which names the code that blocks, and every
  garbage collection that takes 5 ms or more.
- `TIMMY_BENCH_BLOCK_REACTOR=0.5/5`: BENCHMARK ONLY, the negative control.
  Blocks the reactor on purpose (`time.sleep(0.5)` every 5 s) to prove the
  harness catches blocking (`start_blocker()` does the same at run time,
  `stop_blockers()` ends it).
  Never set it on a real world.

Only the standard library and Twisted are used, so the benchmark can drop
this file into a stock Evennia game directory as well.
"""

import gc
import os
import sys
import threading
import time
import traceback

from twisted.internet import reactor
from twisted.internet.task import LoopingCall

PROBE_ENV = "TIMMY_LAG_PROBE_FILE"
BLOCK_ENV = "TIMMY_BENCH_BLOCK_REACTOR"
STALL_ENV = "TIMMY_STALL_FILE"
_BLOCKERS = []  # what start_blocker() started, for stop_blockers()


class LagProbe:
    """Measures how late a reactor timer fires.

    Args:
        path (str): File the samples are appended to.
        interval (float): Seconds between two timers.
        flush_every (float): Seconds between two writes of the file.
    """

    def __init__(self, path, interval=0.02, flush_every=1.0):
        self.path, self.interval, self.flush_every = path, interval, flush_every
        self.samples = []
        self._expected = self.last_fired = time.monotonic()
        self.cpu_at_fire = time.thread_time()
        self._flusher = LoopingCall(self.flush)
        self._call = self._trigger = None

    def start(self):
        """Arm the first timer and the periodic write; returns self."""
        self._arm()
        self._flusher.start(self.flush_every, now=False)
        self._trigger = reactor.addSystemEventTrigger("before", "shutdown", self.flush)
        return self

    def stop(self):
        """Stop measuring and write what is left."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        if self._flusher.running:
            self._flusher.stop()
        if self._trigger is not None:
            reactor.removeSystemEventTrigger(self._trigger)
            self._trigger = None
        self.flush()

    def _arm(self):
        self._expected = time.monotonic() + self.interval
        self._call = reactor.callLater(self.interval, self._fired)

    def _fired(self):
        now, wall = time.monotonic(), time.time()
        self.last_fired, self.cpu_at_fire = now, time.thread_time()
        lag = max(0.0, now - self._expected)
        # A fixed-rate schedule: every tick that fell due while the reactor
        # was busy is a sample with its own lateness, so the samples are
        # uniform in time (a 0.5 s block is 25 samples, not one).
        while True:
            self.samples.append(f"{wall:.3f} {lag * 1000.0:.3f}\n")
            lag -= self.interval
            if lag <= 0:
                break
        self._arm()

    def flush(self):
        """Append the samples gathered so far to the file."""
        if not self.samples:
            return
        lines, self.samples = self.samples, []
        try:
            with open(self.path, "a") as handle:
                handle.writelines(lines)
        except OSError:
            pass


class StallReporter(threading.Thread):
    """Writes the reactor thread's stack whenever the probe's timer is overdue.

    Diagnostics for finding what blocks the reactor: a thread that wakes
    every 5 ms and, once the timer is `threshold` seconds late, appends the
    main thread's stack to `path` (again every 100 ms while the stall lasts).

    Args:
        probe (LagProbe): The running probe.
        path (str): File the stacks are appended to.
        threshold (float): Seconds of lateness worth a report.
    """

    def __init__(self, probe, path, threshold=0.03):
        super().__init__(name="reactor-stall-reporter", daemon=True)
        self.probe, self.path, self.threshold = probe, path, threshold

    def watch_gc(self, threshold=0.005):
        """Also append `=== <time> gc gen <n> <ms> ms` for collections of `threshold` s or more."""
        started = {}

        def callback(phase, info):
            if phase == "start":
                started["at"] = time.perf_counter()
            elif "at" in started:
                took = time.perf_counter() - started.pop("at")
                if took >= threshold:
                    with open(self.path, "a") as handle:
                        handle.write(f"=== {time.time():.3f} gc gen {info['generation']} {took * 1000:.1f} ms\n")

        gc.callbacks.append(callback)
        return self

    def run(self):
        main = threading.main_thread().ident
        clock = time.pthread_getcpuclockid(main)
        last_report = 0.0
        while True:
            time.sleep(0.005)
            now = time.monotonic()
            fired, cpu_at_fire = self.probe.last_fired, self.probe.cpu_at_fire
            late = now - fired - self.probe.interval
            if late < self.threshold or now - last_report < 0.1:
                continue
            last_report = now
            # CPU the reactor thread used since the timer last fired: close to the
            # time elapsed when it computes, far less when it waits (I/O, a lock,
            # or the machine's other processes holding the CPU).
            cpu = time.clock_gettime(clock) - cpu_at_fire
            frame = sys._current_frames().get(main)
            stack = "".join(traceback.format_stack(frame)) if frame else "(no frame)\n"
            with open(self.path, "a") as handle:
                handle.write(f"--- {time.time():.3f} reactor late by {late * 1000:.0f} ms,"
                             f" on CPU {cpu * 1000:.0f} of {(now - fired) * 1000:.0f} ms\n{stack}")


def start_blocker(spec):
    """BENCHMARK ONLY: block the reactor on purpose; spec "0.5/5" = 0.5 s every 5 s.

    Also callable at run time (the benchmark's negative control does it with
    Evennia's `py` command, so it needs no restart of the world).

    Returns:
        LoopingCall: Stop it to end the blocking.
    """
    duration, _, period = spec.partition("/")
    duration, period = float(duration), float(period or 5)
    loop = LoopingCall(time.sleep, duration)
    loop.start(period, now=False)
    _BLOCKERS.append(loop)
    return loop


def stop_blockers():
    """BENCHMARK ONLY: stop every blocker started in this process; return how many ran."""
    running = [loop for loop in _BLOCKERS if loop.running]
    for loop in running:
        loop.stop()
    _BLOCKERS.clear()
    return len(running)


def start_from_env(environ=None):
    """Start the probe and/or the blocker if their variables are set.

    Args:
        environ (dict, optional): Defaults to `os.environ`.

    Returns:
        tuple: (LagProbe or None, LoopingCall or None).
    """
    environ = os.environ if environ is None else environ
    path = environ.get(PROBE_ENV, "").strip()
    spec = environ.get(BLOCK_ENV, "").strip()
    probe = LagProbe(path).start() if path else None
    if probe and environ.get(STALL_ENV, "").strip():
        threshold = float(environ.get("TIMMY_STALL_MS", "").strip() or 30) / 1000.0
        StallReporter(probe, environ[STALL_ENV].strip(), threshold).watch_gc().start()
    blocker = start_blocker(spec) if spec else None
    return probe, blocker
