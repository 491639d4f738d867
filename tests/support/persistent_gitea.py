"""
A fake Gitea that keeps its issues across restarts, like a real one.

tests/support/fake_gitea.py keeps everything in memory, so a restarted fake
forgets the issues it had: a drill that stops and restarts Gitea would then
see 404s for issues the world filed before the outage, which a real Gitea
would still have. This subclass writes its issues and labels to a JSON file
after every change and reads them back when it starts.

    python tests/support/persistent_gitea.py --port 3000 --state /tmp/gitea.json
        [--token T --repo owner/name]

It imports neither Django nor the game.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_gitea import FakeGitea  # noqa: E402


class PersistentGitea(FakeGitea):
    """FakeGitea whose issues and labels live in a JSON file.

    Args:
        state_path (str): The JSON file (created on the first change).
        token (str): The API token it accepts.
        repo (str): The one repository it serves ("owner/name").
        port (int): The loopback port (0: any free port).
    """

    def __init__(self, state_path, token="secret-token", repo="fleet/ops", port=0):
        super().__init__(token, repo, port)
        self.state_path = state_path
        self._load()

    def _load(self):
        try:
            with open(self.state_path) as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            return
        self.issues = list(state.get("issues") or [])
        self.labels = list(state.get("labels") or [])

    def _save(self):
        """Write the state atomically (a kill mid-write leaves the old file)."""
        temporary = f"{self.state_path}.tmp"
        with open(temporary, "w") as handle:
            json.dump({"issues": self.issues, "labels": self.labels}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.state_path)

    def _route(self, handler, method, url, body):
        """Answer as FakeGitea does, then keep any change (the caller holds the lock)."""
        answer = super()._route(handler, method, url, body)
        if method != "GET":
            self._save()
        return answer


def main(argv=None):
    parser = argparse.ArgumentParser(description="A fake Gitea on loopback that keeps its issues in a file.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--repo", default="fleet/ops")
    parser.add_argument("--state", required=True, help="JSON file for issues and labels")
    args = parser.parse_args(argv)
    gitea = PersistentGitea(args.state, args.token, args.repo, args.port)
    print(f"fake gitea listening on {gitea.url}", flush=True)
    gitea.server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
