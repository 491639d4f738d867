"""
A restart command for the recovery tests: bring a fake service back, detached.

    python tests/support/restart_fake_service.py --kind ollama --port 54321 --pidfile /tmp/x.pid
        [--models llama3.2:3b] [--token T --repo owner/name] [--fail-with 3] [--print-lines N]

It starts tests/support/fake_ollama.py or fake_gitea.py as a daemon in its
own session (stdio to /dev/null, so it holds none of the caller's pipes),
waits until the port answers, writes the daemon's pid to --pidfile and exits
0, as `systemctl restart` would. `--fail-with N` exits N at once without
starting anything (a restart that fails); `--print-lines N` prints N lines
first (a chatty restart). It imports neither Django nor the game.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = {"ollama": "fake_ollama.py", "gitea": "fake_gitea.py"}
READY_WITHIN = 10.0


def daemon_argv(args):
    """The fake service's command line."""
    argv = [sys.executable, os.path.join(HERE, SCRIPTS[args.kind]), "--port", str(args.port)]
    if args.kind == "ollama":
        argv += ["--models", args.models]
    else:
        argv += ["--token", args.token, "--repo", args.repo]
    return argv


def answers(port):
    """True if something accepts connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_ready(daemon, kind, port, within=READY_WITHIN):
    """0 once the port answers, 1 if the daemon died or never answered (said on stderr)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if answers(port):
            print(f"{kind} is back on port {port} (pid {daemon.pid})")
            return 0
        if daemon.poll() is not None:
            print(f"{kind} exited with {daemon.returncode}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"{kind} did not answer within {within:.0f} s", file=sys.stderr)
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(description="Start a fake service detached, like a restart.")
    parser.add_argument("--kind", choices=sorted(SCRIPTS), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--models", default="llama3.2:3b")
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--repo", default="fleet/ops")
    parser.add_argument("--fail-with", type=int, default=0)
    parser.add_argument("--print-lines", type=int, default=0)
    args = parser.parse_args(argv)
    for index in range(args.print_lines):
        print(f"restarting {args.kind}: line {index}")
    if args.fail_with:
        print(f"restart of {args.kind} failed on purpose", file=sys.stderr)
        return args.fail_with
    with open(os.devnull, "r+b") as null:
        daemon = subprocess.Popen(daemon_argv(args), stdin=null, stdout=null, stderr=null,
                                  start_new_session=True, cwd=HERE)
    with open(args.pidfile, "w") as handle:
        handle.write(str(daemon.pid))
    return wait_ready(daemon, args.kind, args.port)


if __name__ == "__main__":
    sys.exit(main())
