"""
A scriptable HTTP service on loopback, for heartbeat probes.

It runs in its own thread (independent of the Twisted reactor under test) and
answers every path from a table of routes. Modes per route: a status and a
body, a delay, `hang` (never answer until the server stops) and a barrier
that holds every request until N have arrived (proof that probes run
concurrently). `stop()` closes the port, so a stopped server refuses
connections like a dead service.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Route:
    """How one path answers."""

    def __init__(self, status=200, body=b"{}", delay=0.0, hang=False, content_type="application/json"):
        self.status, self.delay, self.hang, self.content_type = status, delay, hang, content_type
        self.body = json.dumps(body).encode() if isinstance(body, (dict, list)) else body


class FakeHTTPService:
    """A threaded HTTP server with scripted routes."""

    def __init__(self, routes=None, barrier=None):
        self.routes = dict(routes or {})
        self.default = Route(404, {"error": "not found"})
        self.requests = []
        self.released = threading.Event()
        self.barrier = threading.Barrier(barrier) if barrier else None
        self._lock = threading.Lock()
        ThreadingHTTPServer.request_queue_size = 64
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Stop answering and close the port (hanging requests are released)."""
        self.released.set()
        if self.barrier:
            self.barrier.abort()
        self.server.shutdown()
        self.server.server_close()

    def set_route(self, path, route):
        with self._lock:
            self.routes[path] = route

    def _route(self, path):
        with self._lock:
            return self.routes.get(path.split("?")[0], self.default)

    def _handler_class(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                service._answer(self)

            def do_POST(self):
                service._answer(self)

            def log_message(self, *args):
                pass

        return Handler

    def _answer(self, handler):
        with self._lock:
            self.requests.append((handler.command, handler.path, time.monotonic()))
        if self.barrier:
            try:
                self.barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                return
        route = self._route(handler.path)
        if route.hang:
            self.released.wait()
            return
        if route.delay:
            if self.released.wait(route.delay):
                return
        try:
            handler.send_response(route.status)
            handler.send_header("Content-Type", route.content_type)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            handler.wfile.write(route.body)
        except OSError:
            pass
