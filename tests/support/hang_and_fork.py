"""
A misbehaving command for the recovery runner's tests: it forks a grandchild
that hangs, prints both pids (one per line, flushed), and hangs itself.

    python tests/support/hang_and_fork.py [--detach-output]

Only a kill of the whole process group ends both. With --detach-output the
parent exits at once (code 0) while the grandchild keeps the output pipe open
(a restart script that forgot to detach its daemon).
"""

import os
import sys
import time


def main(argv):
    exit_at_once = "--detach-output" in argv
    child = os.fork()
    if child == 0:
        print(f"grandchild {os.getpid()}", flush=True)
        while True:
            time.sleep(60)
    print(f"child {os.getpid()}", flush=True)
    if exit_at_once:
        time.sleep(0.2)
        os._exit(0)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1:])
