"""
A small blocking telnet client for end-to-end tests and benchmarks.

It speaks just enough telnet: every option the server offers is refused
(WONT/DONT), so Evennia's handshakes finish at once, and IAC sequences are
stripped from what is read. Text is decoded as UTF-8 with ANSI escapes removed.
"""

import re
import socket
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class TelnetClient:
    """A line-oriented telnet connection."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self._text = ""

    def close(self):
        """Close the connection."""
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, line):
        """Send one line of input."""
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def read_until(self, pattern, timeout=None):
        """Read until `pattern` (a regex or string) appears; return the text read.

        Raises:
            TimeoutError: If the pattern did not appear in time; the message
                holds what was read.
        """
        regex = re.compile(pattern if isinstance(pattern, str) else pattern.pattern, re.S)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            match = regex.search(self._text)
            if match:
                upto = match.end()
                text, self._text = self._text[:upto], self._text[upto:]
                return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{pattern!r} not seen; got: {self._text[-2000:]!r}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError(f"connection closed; got: {self._text[-2000:]!r}")
            self._text += self._decode(data)

    def drain(self, quiet=0.5, limit=10.0):
        """Read everything that arrives until the line is quiet for `quiet` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            self.sock.settimeout(quiet)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                break
            if not data:
                break
            self._text += self._decode(data)
        text, self._text = self._text, ""
        return text

    def command(self, line, expect, timeout=None):
        """Send a line and return the text up to `expect`."""
        self.send(line)
        return self.read_until(expect, timeout)

    def login(self, username, password, expect=r"\n"):
        """Wait for the connection screen, log in and wait for `expect`."""
        self.read_until(r"connect <username>", timeout=max(self.timeout, 60))  # after any Portal queue
        return self.command(f"connect {username} {password}", expect)

    def _decode(self, data):
        """Answer telnet negotiation, strip it and ANSI, return the text."""
        out = bytearray()
        index = 0
        while index < len(data):
            byte = data[index]
            if byte != IAC:
                out.append(byte)
                index += 1
                continue
            command = data[index + 1] if index + 1 < len(data) else None
            if command in (DO, DONT, WILL, WONT) and index + 2 < len(data):
                option = data[index + 2]
                if command == DO:
                    self.sock.sendall(bytes([IAC, WONT, option]))
                elif command == WILL:
                    self.sock.sendall(bytes([IAC, DONT, option]))
                index += 3
            elif command == SB:
                end = data.find(bytes([IAC, SE]), index)
                index = len(data) if end < 0 else end + 2
            elif command == IAC:
                out.append(IAC)
                index += 2
            else:
                index += 2
        return _ANSI.sub("", out.decode("utf-8", errors="replace")).replace("\r", "")
