"""
Small helpers for tests that use real sockets.
"""

import socket


def closed_port():
    """A loopback port with nothing listening on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def closed_port_url():
    """An http URL on loopback where nothing answers (connection refused)."""
    return f"http://127.0.0.1:{closed_port()}"
