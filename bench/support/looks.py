"""
An operator's `look` round trip over telnet, measured message by message.

The client refuses every telnet option (tests/support/telnet.py), so Evennia
ends each message it sends with IAC GA. A round trip is timed from sending
`look` to the end of the first message that starts with the room's own
first line; anything else that arrives meanwhile (channel chatter, agents
talking, heartbeat announcements) is read and skipped, not mistaken for the
answer.
"""

import time

from tests.support.telnet import TelnetClient

IAC_GA = b"\xff\xf9"


class LookClient:
    """A logged-in operator who keeps looking around.

    Args:
        port (int): The world's telnet port.
        username (str): Account name.
        password (str): Its password.
    """

    def __init__(self, port, username, password, timeout=30.0):
        self.telnet = TelnetClient("127.0.0.1", port, timeout=timeout)
        self.timeout = timeout
        self.telnet.login(username, password, r"\n")
        self._raw = b""
        self.telnet.drain(quiet=1.0, limit=15.0)
        self.header = self._first_line(self.look_text())

    @staticmethod
    def _first_line(text):
        return next((line for line in text.splitlines() if line.strip()), "")

    def _messages(self, deadline):
        """Yield whole messages (text) as they arrive, until the deadline."""
        sock = self.telnet.sock
        while True:
            while IAC_GA in self._raw:
                message, self._raw = self._raw.split(IAC_GA, 1)
                yield self.telnet._decode(message)  # also answers late negotiation
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer to look in time")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("the world closed the connection")
            self._raw += data

    def look_text(self):
        """Send `look`; return the first whole message that answers it."""
        self.telnet.send("look")
        for text in self._messages(time.monotonic() + self.timeout):
            if text.strip() and (not getattr(self, "header", "") or self._first_line(text) == self.header):
                return text
        return ""

    def round_trips(self, samples, pause=0.02):
        """`samples` look round trips in milliseconds, `pause` seconds apart."""
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            self.look_text()
            timings.append((time.perf_counter() - started) * 1000.0)
            time.sleep(pause)
        return timings

    def command(self, line, quiet=0.5):
        """Run any other command; return what came back (until quiet)."""
        self.telnet.send(line)
        time.sleep(0.05)
        raw, self._raw = self._raw, b""
        return self.telnet._decode(raw) + self.telnet.drain(quiet=quiet)

    def close(self):
        self.telnet.close()
