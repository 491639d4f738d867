"""
An operator's `look`, hop by hop, from a capture of loopback traffic.

The capture (tcpdump, pcap, nanosecond timestamps) holds the operator's
telnet connection and the Portal-Server AMP link. Each AMP box is read off
the link as Evennia sends it (`packed_data`: zlib-compressed pickle of
`(sessid, kwargs)`), so every look can be followed through its four
moments: the line leaves the client, the Portal's box reaches the Server,
the Server's answer box leaves for the Portal, the text reaches the client.
The three hops between them are the Portal on the way in, the Server (with
both of its AMP ends), and the Portal on the way out. For the Server's
answer it also records how many AMP boxes left in the same TCP segment: an
answer that left together with boxes made after it waited for them.

Only for the benchmark scripts; the capture holds the world's own traffic.
"""

import bisect
import pickle
import struct
import zlib
from collections import defaultdict
from dataclasses import dataclass

PCAP_NANO = 0xA1B23C4D
ETHERNET_HEADER = 14
IAC_GA = b"\xff\xf9"


@dataclass
class Look:
    """One look's moments (seconds) and its Server answer's segment."""

    sent: float
    at_server: float
    answered: float
    received: float
    boxes_in_answer_segment: int

    @property
    def portal_in(self):
        return (self.at_server - self.sent) * 1000.0

    @property
    def server(self):
        return (self.answered - self.at_server) * 1000.0

    @property
    def portal_out(self):
        return (self.received - self.answered) * 1000.0

    @property
    def total(self):
        return (self.received - self.sent) * 1000.0


def tcp_payloads(path):
    """Yield (time, source port, destination port, payload) of every IPv4 TCP segment with data."""
    with open(path, "rb") as handle:
        header = handle.read(24)
        scale = 1e-9 if struct.unpack("<I", header[:4])[0] == PCAP_NANO else 1e-6
        seen = set()
        while len(record := handle.read(16)) == 16:
            seconds, fraction, length, _ = struct.unpack("<IIII", record)
            ip = handle.read(length)[ETHERNET_HEADER:]
            if not ip or ip[0] >> 4 != 4:
                continue
            tcp = ip[(ip[0] & 15) * 4:struct.unpack(">H", ip[2:4])[0]]
            source, destination, sequence = struct.unpack(">HHI", tcp[:8])
            payload = tcp[(tcp[12] >> 4) * 4:]
            if payload and (source, destination, sequence) not in seen:  # a retransmission once
                seen.add((source, destination, sequence))
                yield seconds + fraction * scale, source, destination, payload


def streams_of(path):
    """{(source port, destination port): [(time, payload), ...]} in capture order."""
    streams = defaultdict(list)
    for moment, source, destination, payload in tcp_payloads(path):
        streams[(source, destination)].append((moment, payload))
    return streams


def amp_segments(chunks):
    """Yield (time, [boxes completed by this segment]) for one direction of an AMP stream."""
    buffer, box = b"", {}
    for moment, data in chunks:
        buffer += data
        completed = []
        while len(buffer) >= 2:
            key_length = struct.unpack(">H", buffer[:2])[0]
            if key_length == 0:  # the end of a box
                completed.append(box)
                buffer, box = buffer[2:], {}
                continue
            if len(buffer) < 4 + key_length:
                break
            value_length = struct.unpack(">H", buffer[2 + key_length:4 + key_length])[0]
            end = 4 + key_length + value_length
            if len(buffer) < end:
                break
            box[buffer[2:2 + key_length]] = buffer[4 + key_length:end]
            buffer = buffer[end:]
        if completed:
            yield moment, completed


def decoded(box):
    """(sessid, kwargs) of an Evennia message box; (None, {}) for any other box."""
    data = box.get(b"packed_data")
    if data is None:
        return None, {}
    number = 2
    while (part := box.get(b"packed_data.%d" % number)) is not None:
        data, number = data + part, number + 1
    try:
        return pickle.loads(zlib.decompress(data))
    except (zlib.error, pickle.UnpicklingError, EOFError):
        return None, {}


def _session_boxes(streams, keep):
    """[(time, [(sessid, kwargs), ...])] of the AMP segments of the directions `keep` picks."""
    segments = []
    for (source, destination), chunks in streams.items():
        if keep(source, destination):
            segments += [(moment, [decoded(box) for box in boxes]) for moment, boxes in amp_segments(chunks)]
    return sorted(segments, key=lambda segment: segment[0])


def operator_session(to_server, marker):
    """The sessid of the session that typed `marker`."""
    for _, boxes in to_server:
        for sessid, kwargs in boxes:
            if marker in repr(kwargs.get("text")):
                return sessid
    raise ValueError(f"nobody typed {marker!r} in the capture")


def _next(moments, after):
    """Index of the first of sorted `moments` later than `after` (None if there is none)."""
    index = bisect.bisect_right(moments, after)
    return index if index < len(moments) else None


def looks(path, operator_port, telnet_port, amp_port, marker, command="look"):
    """Every `command` the operator at `operator_port` typed, as a Look.

    The Portal listens on `amp_port`, the Server connects to it.
    """
    streams = streams_of(path)
    to_server = _session_boxes(streams, lambda source, destination: source == amp_port)
    to_portal = _session_boxes(streams, lambda source, destination: destination == amp_port)
    sessid = operator_session(to_server, marker)
    arrivals = [moment for moment, boxes in to_server
                if any(sid == sessid and command in repr(kwargs.get("text")) for sid, kwargs in boxes)]
    answers = [(moment, len(boxes)) for moment, boxes in to_portal if any(sid == sessid for sid, _ in boxes)]
    answer_moments = [moment for moment, _ in answers]
    sends = [moment for moment, data in streams[(operator_port, telnet_port)] if command.encode() in data]
    ends = [moment for moment, data in streams[(telnet_port, operator_port)] if data.endswith(IAC_GA)]
    found = []
    for sent in sends:
        arrival = _next(arrivals, sent)
        answer = None if arrival is None else _next(answer_moments, arrivals[arrival])
        end = None if answer is None else _next(ends, answer_moments[answer])
        if end is not None:
            found.append(Look(sent, arrivals[arrival], answer_moments[answer], ends[end], answers[answer][1]))
    return found
