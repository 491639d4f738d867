"""
A fake Ollama server that speaks the real HTTP protocol, for tests and drills.

It listens on loopback in a background thread and answers like Ollama does:
`GET /` ("Ollama is running"), `GET /api/version`, `GET /api/tags` (a
configurable model list) and `POST /api/chat` (non-streaming when the request
says `"stream": false`, as the `ollama` client does; NDJSON chunks otherwise).
Chat answers come from a scripted queue, then a default; each `Answer` can be
valid JSON, non-JSON, truncated, a forbidden action, extra keys, a huge
argument, slow, hanging (until the server stops) or an HTTP error. Every
request is recorded, so tests can check the `format` schema and the prompts.

    fake = FakeOllama().start()
    fake.script(Answer.valid("go", {"region": "oracle"}), Answer.http_error(500))
    ...  # point ollama.Client(host=fake.url) at it
    fake.stop()

As a script it answers every chat with a valid decision after a fixed delay,
for benchmarks and drills run as a separate process:

    python tests/support/fake_ollama.py --port 11434 --delay 2

It imports neither Django nor the game, so the script runs anywhere.
"""

import argparse
import contextlib
import hashlib
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.9.0"
DEFAULT_MODELS = ("llama3.2:3b",)
DEFAULT_REPLY = "All quiet on my watch."
# Arguments used when the automatic answer picks an action that needs some.
AUTO_ARGS = {
    "say": {"text": "All quiet here."}, "go": {"region": "hearth"}, "status": {},
    "escalate": {"severity": "P2", "summary": "drill escalation"}, "ack": {"id": "1"},
    "note": {"id": "1", "text": "drill note"}, "recover": {"scenario": "agent"},
}


@dataclass(frozen=True)
class Answer:
    """One scripted reply to a chat request.

    Attributes:
        kind (str): "content" (send `content`), "auto" (a valid answer built
            from the request's `format`), "hang", "error" or "garbage"
            (`content` as a non-JSON HTTP 200 body).
        content (str): The assistant message content for "content".
        delay (float): Seconds to wait before answering.
        status (int): HTTP status for "error".
        done_reason (str): Reported completion reason.
        action (str): Preferred action for "auto".
    """

    kind: str = "auto"
    content: str = ""
    delay: float = 0.0
    status: int = 200
    done_reason: str = "stop"
    action: str = "wait"

    @classmethod
    def valid(cls, action="wait", args=None, reason="all is well", delay=0.0):
        """A well-formed decision."""
        return cls.decision({"action": action, "args": args or {}, "reason": reason}, delay)

    @classmethod
    def decision(cls, data, delay=0.0):
        """Any JSON object as the answer."""
        return cls("content", json.dumps(data), delay)

    @classmethod
    def raw(cls, content, delay=0.0, done_reason="stop"):
        """Exactly this content."""
        return cls("content", content, delay, done_reason=done_reason)

    @classmethod
    def non_json(cls):
        """Prose instead of JSON."""
        return cls.raw("I think I should walk to the oracle and check on Ollama.")

    @classmethod
    def truncated(cls):
        """JSON cut off mid-string, as when num_predict runs out."""
        return cls.raw('{"action": "say", "args": {"text": "the forge is', done_reason="length")

    @classmethod
    def not_allowed(cls, action="recover", args=None):
        """A forbidden decision (by default `@recover infra`)."""
        return cls.valid(action, args if args is not None else {"scenario": "infra"}, "told to")

    @classmethod
    def extra_keys(cls):
        """A valid decision plus a key the schema does not have."""
        return cls.decision({"action": "look", "args": {}, "reason": "x", "command": "@shutdown"})

    @classmethod
    def long_argument(cls, length=10_000):
        """A say with a `length`-character text."""
        return cls.valid("say", {"text": "a" * length})

    @classmethod
    def slow(cls, delay, answer=None):
        """`answer` (default: automatic) after `delay` seconds."""
        answer = answer or cls()
        return cls(answer.kind, answer.content, delay, answer.status, answer.done_reason, answer.action)

    @classmethod
    def hang(cls):
        """Never answer (until the server stops)."""
        return cls("hang")

    @classmethod
    def http_error(cls, status=500):
        """An HTTP error with Ollama's {"error": ...} body."""
        return cls("error", status=status)

    @classmethod
    def garbage(cls):
        """HTTP 200 with a body that is not JSON (a misbehaving proxy)."""
        return cls("garbage", "<html><body>502 Bad Gateway</body></html>")

    @classmethod
    def auto(cls, action="wait", delay=0.0):
        """A valid answer for whatever the request's `format` allows, preferring `action`."""
        return cls("auto", delay=delay, action=action)


def auto_content(request, preferred="wait", reply_text=DEFAULT_REPLY):
    """Build a valid answer for `request` from its `format` schema."""
    schema = request.get("format")
    if not isinstance(schema, dict):
        return reply_text
    properties = schema.get("properties", {})
    if "choice" in properties:
        return json.dumps({"choice": 1, "reason": "the planner's first plan"})
    allowed = properties.get("action", {}).get("enum", ["wait"])
    fallback = [name for name in ("look", "wait", "heartbeat", "status") if name in allowed]
    action = preferred if preferred in allowed else (fallback or allowed)[0]
    return json.dumps({"action": action, "args": AUTO_ARGS.get(action, {}), "reason": "routine"})


def _now_iso():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def chat_body(model, content, prompt_chars, done_reason="stop", elapsed=0.0):
    """A non-streaming /api/chat response as the real server sends it."""
    total = int(max(elapsed, 0.001) * 1e9)
    return {
        "model": model, "created_at": _now_iso(),
        "message": {"role": "assistant", "content": content},
        "done": True, "done_reason": done_reason,
        "total_duration": total, "load_duration": total // 10,
        "prompt_eval_count": max(1, prompt_chars // 4), "prompt_eval_duration": total // 3,
        "eval_count": max(1, len(content) // 4), "eval_duration": total // 2,
    }


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    body: object = None
    headers: dict = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOllama"
    timeout = 10  # seconds a client may take to send its request

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    @property
    def fake(self):
        return self.server.fake

    def do_HEAD(self):
        self._send(200 if self.path == "/" else 404, b"", "text/plain")

    def do_GET(self):
        self.fake.record(Recorded("GET", self.path, None, dict(self.headers)))
        if self.path == "/":
            self._send(200, b"Ollama is running", "text/plain")
        elif self.path == "/api/version":
            self._send_json(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._send_json(200, {"models": [self.fake.model_entry(name) for name in self.fake.models]})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        self.fake.record(Recorded("POST", self.path, body, dict(self.headers)))
        if self.path != "/api/chat":
            self._send_json(404, {"error": "not found"})
        elif not isinstance(body, dict):
            self._send_json(400, {"error": "invalid JSON body"})
        elif self.fake.strict_models and body.get("model") not in self.fake.models:
            self._send_json(404, {"error": f'model "{body.get("model")}" not found, try pulling it first'})
        else:
            self._chat(body)

    def _chat(self, body):
        answer = self.fake.next_answer()
        started = time.monotonic()
        with self.fake.in_flight_counter():
            if answer.kind == "hang":
                self.fake.stopping.wait()
                return
            if answer.delay and self.fake.stopping.wait(answer.delay):
                return
        if answer.kind == "error":
            self._send_json(answer.status, {"error": f"fake ollama: scripted HTTP {answer.status}"})
            return
        if answer.kind == "garbage":
            self._send(200, answer.content.encode(), "text/html")
            return
        content = answer.content
        if answer.kind == "auto":
            content = auto_content(body, answer.action, self.fake.reply_text)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or ())
        reply = chat_body(body.get("model", ""), content, prompt_chars, answer.done_reason,
                          time.monotonic() - started)
        if body.get("stream", True):
            self._send_stream(reply)
        else:
            self._send_json(200, reply)

    def _send_stream(self, reply):
        chunk = {"model": reply["model"], "created_at": reply["created_at"],
                 "message": reply["message"], "done": False}
        final = dict(reply, message={"role": "assistant", "content": ""})
        lines = (json.dumps(chunk) + "\n" + json.dumps(final) + "\n").encode()
        self._send(200, lines, "application/x-ndjson")

    def _send_json(self, status, data):
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def _send(self, status, payload, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout); nothing to tell it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-answer is normal here


class FakeOllama:
    """The fake server. Start with `start()`, address with `.url`, end with `stop()`.

    Args:
        models (iterable of str): Models /api/tags lists and /api/chat accepts.
        default (Answer): Answer when the script queue is empty.
        host (str): Interface to bind (loopback by default).
        port (int): 0 picks a free port.
        strict_models (bool): Unknown model -> 404, like Ollama.
        reply_text (str): Content of automatic answers without a `format`.
    """

    def __init__(self, models=DEFAULT_MODELS, default=None, host="127.0.0.1", port=0,
                 strict_models=True, reply_text=DEFAULT_REPLY):
        self.models = list(models)
        self.default = default or Answer.auto()
        self.host, self.port = host, port
        self.strict_models = strict_models
        self.reply_text = reply_text
        self.requests = []
        self.stopping = threading.Event()
        self._queue = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server = None
        self._thread = None

    @property
    def url(self):
        """Base URL, e.g. "http://127.0.0.1:54321"."""
        return f"http://{self.host}:{self.port}"

    def start(self):
        """Bind and serve in a background thread; returns self."""
        self.stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-ollama-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=2.0):
        """Stop serving and release slow and hanging handlers at once."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout)
            self._server = None
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def script(self, *answers):
        """Queue answers for the next chat requests, in order."""
        with self._lock:
            self._queue.extend(answers)

    def next_answer(self):
        """The next scripted answer, or the default."""
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    def record(self, request):
        """Remember a request."""
        with self._lock:
            self.requests.append(request)

    @property
    def chat_requests(self):
        """Bodies of the /api/chat requests received, in order."""
        with self._lock:
            return [r.body for r in self.requests if r.method == "POST" and r.path == "/api/chat"]

    @property
    def in_flight(self):
        """Chat requests currently waiting (slow or hanging)."""
        with self._lock:
            return self._in_flight

    @contextlib.contextmanager
    def in_flight_counter(self):
        """Context manager counting a waiting chat request."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @staticmethod
    def model_entry(name):
        """One /api/tags entry, shaped like Ollama's."""
        return {
            "name": name, "model": name, "modified_at": _now_iso(), "size": 2_019_393_189,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                        "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
        }


def main(argv=None):
    """Run the fake as a process until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="A fake Ollama server answering valid decisions.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chat answer")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    parser.add_argument("--action", default="look", help="preferred action of the answers")
    args = parser.parse_args(argv)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    fake = FakeOllama(models, Answer.auto(args.action, args.delay), args.host, args.port)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    fake.start()
    print(f"fake ollama listening on {fake.url}", flush=True)
    while not done.wait(0.2):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
