"""
The Gitea REST client used for level-3 escalations.

Blocking (`requests`), so it only ever runs inside a worker thread; it never
touches the ORM. Each call returns data or raises GiteaError saying whether a
retry can help (timeouts, connection errors, 5xx and 429) or not (401, 403,
404, 422: those are dead-lettered).
"""

import requests

from world.incidents.render import marker_line

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
FATAL_STATUS = {400, 401, 403, 404, 405, 409, 410, 422}
LABEL_COLOURS = {"P0": "#b60205", "P1": "#d93f0b", "P2": "#fbca04"}
SEARCH_PAGE = 50
SEARCH_PAGES = 20  # at most 1000 candidates: far more than the open incidents of any fleet


class GiteaError(Exception):
    """A Gitea call failed; `retryable` says whether to try again later."""

    def __init__(self, message, retryable, status=None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class GiteaClient:
    """A small client for the endpoints the escalation needs."""

    def __init__(self, base_url, token, repo, timeout=10.0, session=None):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.repo = repo.strip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"token {token}", "Accept": "application/json"})

    def _call(self, method, path, **kwargs):
        url = self.base + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise GiteaError(f"timeout after {self.timeout:.0f} s", retryable=True)
        except requests.ConnectionError as err:
            reason = "connection refused" if "refused" in str(err).lower() else "connection failed"
            raise GiteaError(reason, retryable=True)
        if response.status_code >= 400:
            retryable = response.status_code in RETRYABLE_STATUS or response.status_code >= 500
            raise GiteaError(f"HTTP {response.status_code} on {method} {path}", retryable, response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GiteaError(f"not JSON from {method} {path}", retryable=True)

    def version(self):
        """The server's version string."""
        return self._call("GET", "/version").get("version", "?")

    def find_issue(self, marker):
        """The number of an issue (open or closed) whose body holds `marker`, or None.

        Gitea's search is by words (and may be fuzzy), so every page of
        candidates is read and only a body with the marker's own line counts
        (holds_marker): `timmy-incident-5` is not found in the issue of
        `timmy-incident-50`, nor in one whose summary quotes it.
        """
        for page in range(1, SEARCH_PAGES + 1):
            issues = self._call("GET", f"/repos/{self.repo}/issues",
                                params={"state": "all", "type": "issues", "q": marker,
                                        "limit": SEARCH_PAGE, "page": page}) or []
            for issue in issues:
                if holds_marker(issue.get("body"), marker):
                    return issue["number"]
            if len(issues) < SEARCH_PAGE:
                return None
        return None

    def label_id(self, name):
        """The id of label `name`, created if missing."""
        for label in self._call("GET", f"/repos/{self.repo}/labels", params={"limit": 50}) or []:
            if label.get("name") == name:
                return label["id"]
        created = self._call("POST", f"/repos/{self.repo}/labels",
                             json={"name": name, "color": LABEL_COLOURS.get(name, "#cccccc")})
        return created["id"]

    def create_issue(self, title, body, labels=()):
        """Open an issue; return its number."""
        label_ids = [self.label_id(name) for name in labels]
        issue = self._call("POST", f"/repos/{self.repo}/issues",
                           json={"title": title, "body": body, "labels": label_ids})
        return issue["number"]

    def comment(self, number, body):
        self._call("POST", f"/repos/{self.repo}/issues/{number}/comments", json={"body": body})

    def close(self, number):
        self._call("PATCH", f"/repos/{self.repo}/issues/{number}", json={"state": "closed"})


def holds_marker(text, marker):
    """True if `text` has the marker line of `marker` as a line of its own.

    Only the line outbox.py writes counts ('<!-- timmy-incident-5 -->', see
    render.marker_line): not incident 50's marker, and not a summary quoting
    a marker (summaries are indented code, never a line of their own). Line
    ends may be CRLF (an issue edited in Gitea's web page).
    """
    wanted = marker_line(marker)
    return any(line.strip() == wanted for line in (text or "").splitlines())


def send(request, client):
    """Carry out one outbox request (in a thread). Returns the issue number.

    `request` is a plain dict made on the reactor thread:
    {"kind": "create"|"comment"|"close", "marker", "title", "body",
     "labels", "issue"}. A create first looks the issue up by its marker, so
    a crash after a successful POST never makes a second issue.
    """
    kind = request["kind"]
    if kind == "create":
        number = client.find_issue(request["marker"])
        if number is None:
            number = client.create_issue(request["title"], request["body"], request.get("labels", ()))
        return number
    number = request.get("issue")
    if not number:
        number = client.find_issue(request["marker"])
    if not number:
        raise GiteaError("no Gitea issue exists for this incident", retryable=False)
    client.comment(number, request["body"])
    if kind == "close":
        client.close(number)
    return number
