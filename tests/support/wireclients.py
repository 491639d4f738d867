"""
Clients that keep what the wire carries, for the hostile-text live test.

`MxpTelnetClient` is the suite's telnet client, but it accepts MXP when the
server offers it (as Mudlet or MUSHclient do) and keeps the raw bytes it
receives, escape sequences included; the text it matches on is what an MXP
client shows (entities decoded). `WebClientSocket` is a small RFC 6455
client that speaks Evennia's web client protocol (JSON arrays
`[cmdname, args, kwargs]`) and keeps every message, as a browser's
webclient receives them.
"""

import base64
import html
import json
import os
import socket
import struct
import time

from .telnet import DO, DONT, IAC, SB, SE, WILL, WONT, TelnetClient

MXP = 91


class MxpTelnetClient(TelnetClient):
    """A telnet client that says yes to MXP and keeps the raw text bytes."""

    def __init__(self, host, port, timeout=10.0):
        super().__init__(host, port, timeout)
        self.raw = b""
        self.mxp_accepted = False

    def take_raw(self):
        """The raw bytes received since the last call (telnet negotiation removed)."""
        raw, self.raw = self.raw, b""
        return raw

    def _decode(self, data):
        """Answer negotiation (yes to MXP), keep the text bytes raw, return them decoded."""
        out = bytearray()
        index = 0
        while index < len(data):
            if data[index] != IAC:
                out.append(data[index])
                index += 1
                continue
            index = self._negotiate(data, index, out)
        self.raw += bytes(out)
        text = out.decode("utf-8", errors="replace").replace("\r", "")
        return html.unescape(text) if self.mxp_accepted else text  # an MXP client shows &lt; as <

    def _negotiate(self, data, index, out):
        """Handle one IAC sequence at `index`; return the index after it."""
        command = data[index + 1] if index + 1 < len(data) else None
        if command in (DO, DONT, WILL, WONT) and index + 2 < len(data):
            option = data[index + 2]
            if command == WILL and option == MXP:
                self.sock.sendall(bytes([IAC, DO, MXP]))
                self.mxp_accepted = True
            elif command == DO:
                self.sock.sendall(bytes([IAC, WONT, option]))
            elif command == WILL:
                self.sock.sendall(bytes([IAC, DONT, option]))
            return index + 3
        if command == SB:
            end = data.find(bytes([IAC, SE]), index)
            return len(data) if end < 0 else end + 2
        if command == IAC:
            out.append(IAC)
        return index + 2


class WebClientSocket:
    """Evennia's web client protocol over a plain websocket."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.messages = []
        self._buffer = b""
        self._handshake(host, port)

    def _handshake(self, host, port):
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake refused")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"no websocket upgrade: {head[:200]!r}")

    def close(self):
        """Send a close frame and close the socket."""
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
            self.sock.close()
        except OSError:
            pass

    def send(self, cmdname, *args, **kwargs):
        """Send one `[cmdname, args, kwargs]` message."""
        self._send_frame(0x1, json.dumps([cmdname, list(args), kwargs]).encode("utf-8"))

    def command(self, line):
        """Type a command line, as the web client's input box does."""
        self.send("text", line)

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def read_until(self, predicate, timeout=None):
        """Read messages until `predicate(message)` is true for one; return the messages read.

        Raises:
            TimeoutError: Nothing matched in time (the message lists what came).
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        start = len(self.messages)
        while True:
            for message in self.messages[start:]:
                if predicate(message):
                    return self.messages[start:]
            start = len(self.messages)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not seen; got: {self.messages[-10:]!r}"[:3000])
            self._read_frame(remaining)

    def text_until(self, pattern, timeout=None):
        """Read until a `text` message contains `pattern` (a substring)."""
        return self.read_until(lambda m: m[0] == "text" and m[1] and pattern in m[1][0], timeout)

    def drain(self, quiet=0.5, limit=10.0):
        """Read until quiet for `quiet` seconds; return and forget every message kept."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not self._read_frame(quiet, quiet_ok=True):
                break
        messages, self.messages = self.messages, []
        return messages

    def _read_frame(self, timeout, quiet_ok=False):
        """Read one frame into `messages`; False if none came within `timeout` and `quiet_ok`."""
        try:
            header = self._read_exact(2, timeout)
        except socket.timeout:
            if quiet_ok:
                return False
            raise
        opcode, length = header[0] & 0x0F, header[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read_exact(2, timeout))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read_exact(8, timeout))[0]
        payload = self._read_exact(length, timeout)
        if opcode == 0x1:
            self.messages.append(json.loads(payload.decode("utf-8")))
        elif opcode == 0x9:
            self._send_frame(0xA, payload)
        elif opcode == 0x8:
            raise ConnectionError("the server closed the websocket")
        return True

    def _read_exact(self, count, timeout):
        while len(self._buffer) < count:
            self.sock.settimeout(timeout)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data
