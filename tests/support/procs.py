"""
Processes as /proc shows them: state, liveness, and the live ones with their
command line and working directory. Standard library only (the restart
scripts import it too).
"""

import os


def process_state(pid):
    """The process's state letter (R, S, T, Z, ...) or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def running(pid):
    """True while the process exists and is not a zombie."""
    return process_state(pid) not in (None, "Z")


def live_processes():
    """(pid, command line, working directory) of every live (non-zombie) process we can read."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if running(int(entry)):
            found.append((int(entry), cmdline, cwd))
    return found


def processes_of(game_dir):
    """(pid, command line) of the live processes started from `game_dir` (by cwd or command line)."""
    return [(pid, cmdline) for pid, cmdline, cwd in live_processes() if game_dir in cmdline or cwd == game_dir]


def processes_with(marker):
    """Pids of live processes whose command line holds `marker`."""
    return [pid for pid, cmdline, _cwd in live_processes() if marker in cmdline]
