"""
The drill's restart command: `systemctl restart` for a fake service.

    python tests/support/restart_drill_service.py --kind ollama --port 54321 --pidfile /tmp/ollama.pid
        [--delay 0] [--models llama3.2:3b]
    python tests/support/restart_drill_service.py --kind gitea --port 54322 --pidfile /tmp/gitea.pid
        --state /tmp/gitea.json [--token T --repo owner/name]

Like a real restart it first stops the instance its pid file names (if that
process still runs), then starts tests/support/fake_ollama.py or
tests/support/persistent_gitea.py as a daemon in its own session (stdio to
/dev/null, so it holds none of the caller's pipes), waits until the port
answers, writes the new pid to --pidfile and exits 0. The drill runner
(bench/drill.py) starts the fakes with it too, and a recovery playbook runs
it from RECOVERY_COMMANDS. It imports neither Django nor the game.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from procs import running  # noqa: E402
from restart_fake_service import wait_ready  # noqa: E402

SCRIPTS = {"ollama": "fake_ollama.py", "gitea": "persistent_gitea.py"}
STOP_WITHIN = 5.0


def daemon_argv(args):
    """The fake service's command line."""
    argv = [sys.executable, os.path.join(HERE, SCRIPTS[args.kind]), "--port", str(args.port)]
    if args.kind == "ollama":
        return argv + ["--models", args.models, "--delay", str(args.delay)]
    if not args.state:
        raise SystemExit("--state is required for gitea")
    return argv + ["--token", args.token, "--repo", args.repo, "--state", args.state]


def read_pid(path):
    """The pid in `path`, or None."""
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def stop_previous(pidfile):
    """Stop the instance the pid file names, SIGTERM then SIGKILL."""
    pid = read_pid(pidfile)
    if not pid or not running(pid):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_WITHIN
        while time.monotonic() < deadline and running(pid):
            time.sleep(0.05)
        if not running(pid):
            return


def start(args):
    """Start the daemon, record its pid; return it."""
    with open(os.devnull, "r+b") as null:
        daemon = subprocess.Popen(daemon_argv(args), stdin=null, stdout=null, stderr=null,
                                  start_new_session=True, cwd=HERE)
    temporary = f"{args.pidfile}.tmp"
    with open(temporary, "w") as handle:
        handle.write(str(daemon.pid))
    os.replace(temporary, args.pidfile)
    return daemon


def main(argv=None):
    parser = argparse.ArgumentParser(description="Restart a fake service, detached.")
    parser.add_argument("--kind", choices=sorted(SCRIPTS), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--models", default="llama3.2:3b")
    parser.add_argument("--delay", type=float, default=0.0, help="ollama: seconds before each chat answer")
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--repo", default="fleet/ops")
    parser.add_argument("--state", help="gitea: the JSON file that keeps its issues")
    args = parser.parse_args(argv)
    stop_previous(args.pidfile)
    return wait_ready(start(args), args.kind, args.port)


if __name__ == "__main__":
    sys.exit(main())
