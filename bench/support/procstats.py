"""
CPU and memory of running processes, from /proc.

`CpuWindow` reads each process's user+system clock ticks at the start and
end of a window and reports the difference as a percentage of one core.
"""

import os
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """User + system clock ticks used so far by `pid`, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def uptime_of(pid):
    """Seconds process `pid` has been running, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            started = int(handle.read().rsplit(")", 1)[1].split()[19])  # starttime (field 22)
        with open("/proc/uptime") as handle:
            return float(handle.read().split()[0]) - started / TICKS
    except (OSError, ValueError, IndexError):
        return None


def machine_busy_ticks():
    """Clock ticks all CPUs have spent busy (not idle, not waiting on I/O) since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values[:8]) - values[3] - values[4]  # user..steal, minus idle and iowait


def memory_mb(pid, field="VmRSS"):
    """A memory figure of `pid` from /proc/<pid>/status in MiB (VmRSS, VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class CpuWindow:
    """CPU used by groups of processes between `start()` and `stop()`.

    The label "machine" is added: every process on the machine together, so
    a figure can be read against what else was running.

    Args:
        groups (dict): Label -> list of pids.
    """

    def __init__(self, groups):
        self.groups = {label: list(pids) for label, pids in groups.items()}
        self._start = {}
        self._began = self.seconds = 0.0
        self.percent = {}

    def start(self):
        self._began = time.monotonic()
        self._start = {pid: cpu_ticks(pid) for pids in self.groups.values() for pid in pids}
        self._machine = machine_busy_ticks()
        return self

    def stop(self):
        """Compute `percent` (label -> % of one core) and return it."""
        self.seconds = max(1e-6, time.monotonic() - self._began)
        for label, pids in self.groups.items():
            used = 0
            for pid in pids:
                before, after = self._start.get(pid), cpu_ticks(pid)
                if before is not None and after is not None:
                    used += after - before
            self.percent[label] = 100.0 * used / TICKS / self.seconds
        self.percent["machine"] = 100.0 * (machine_busy_ticks() - self._machine) / TICKS / self.seconds
        return self.percent


def read_pid(path):
    """The pid in a pid file, or None."""
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None
