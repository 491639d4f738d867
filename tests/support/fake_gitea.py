"""
A fake Gitea that speaks the REST endpoints Timmy World uses, on loopback.

    GET   /api/v1/version
    GET   /api/v1/repos/{owner}/{repo}/issues?state=&q=&type=
    POST  /api/v1/repos/{owner}/{repo}/issues
    PATCH /api/v1/repos/{owner}/{repo}/issues/{n}
    POST  /api/v1/repos/{owner}/{repo}/issues/{n}/comments
    GET   /api/v1/repos/{owner}/{repo}/labels
    POST  /api/v1/repos/{owner}/{repo}/labels

It checks the `Authorization: token ...` header (401 otherwise), keeps
issues, comments and labels in memory, and can be told to fail: `fail_with`
answers every request with a status (503, 429, ...), `lose_create_response`
creates the issue but answers 500 (a crash between a successful POST and
its acknowledgement). It runs in its own thread; `stop()` closes the port.
Also runnable as a script for drills: `python tests/support/fake_gitea.py --port 3000`.
"""

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

REPO_PATH = re.compile(r"^/api/v1/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?P<rest>.*)$")


class FakeGitea:
    """An in-memory Gitea on 127.0.0.1."""

    def __init__(self, token="secret-token", repo="fleet/ops", port=0):
        self.token, self.repo = token, repo
        self.issues, self.labels, self.requests = [], [], []
        self.fail_with = None
        self.lose_create_response = False
        self.lock = threading.Lock()
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def issue(self, number):
        return next(i for i in self.issues if i["number"] == number)

    def _handler(self):
        gitea = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                gitea._dispatch(self, "GET")

            def do_POST(self):
                gitea._dispatch(self, "POST")

            def do_PATCH(self):
                gitea._dispatch(self, "PATCH")

            def log_message(self, *args):
                pass

        return Handler

    def _dispatch(self, handler, method):
        url = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        with self.lock:
            self.requests.append((method, url.path, body))
            status, answer = self._route(handler, method, url, body)
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, handler, method, url, body):
        if self.fail_with:
            return self.fail_with, {"message": "failing on purpose"}
        if url.path == "/api/v1/version":
            return 200, {"version": "1.22.0"}
        if handler.headers.get("Authorization") != f"token {self.token}":
            return 401, {"message": "token is required"}
        match = REPO_PATH.match(url.path)
        if not match or f"{match['owner']}/{match['repo']}" != self.repo:
            return 404, {"message": "repository not found"}
        return self._repo_route(method, match["rest"], parse_qs(url.query), body)

    def _repo_route(self, method, rest, query, body):
        if rest == "issues" and method == "GET":
            words = query.get("q", [""])[0]
            state = query.get("state", ["open"])[0]
            found = [i for i in self.issues if words in i["title"] + i["body"]
                     and (state == "all" or i["state"] == state)]
            return 200, found
        if rest == "issues" and method == "POST":
            if not body.get("title"):
                return 422, {"message": "title is required"}
            issue = {"number": len(self.issues) + 1, "title": body["title"], "body": body.get("body", ""),
                     "state": "open", "labels": [l for l in self.labels if l["id"] in body.get("labels", [])],
                     "comments": []}
            self.issues.append(issue)
            if self.lose_create_response:
                return 500, {"message": "lost"}
            return 201, issue
        if rest == "labels":
            if method == "GET":
                return 200, self.labels
            label = {"id": len(self.labels) + 1, "name": body["name"], "color": body.get("color", "")}
            self.labels.append(label)
            return 201, label
        number_match = re.match(r"^issues/(\d+)(/comments)?$", rest)
        if not number_match or not any(i["number"] == int(number_match[1]) for i in self.issues):
            return 404, {"message": "not found"}
        issue = self.issue(int(number_match[1]))
        if number_match[2] and method == "POST":
            issue["comments"].append(body.get("body", ""))
            return 201, {"id": len(issue["comments"]), "body": body.get("body", "")}
        if method == "PATCH":
            issue["state"] = body.get("state", issue["state"])
            return 201, issue
        return 405, {"message": "method not allowed"}


def main():
    parser = argparse.ArgumentParser(description="A fake Gitea on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--repo", default="fleet/ops")
    args = parser.parse_args()
    gitea = FakeGitea(args.token, args.repo, args.port)
    print(f"fake gitea listening on {gitea.url}", flush=True)
    gitea.server.serve_forever()


if __name__ == "__main__":
    main()
