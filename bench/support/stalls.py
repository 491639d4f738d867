"""
Reading the Server's stall reports (server/conf/reactorprobe.py's
StallReporter): which code held the reactor when it was late, per case, and
whether it was computing (on CPU near 100 %) or waiting (on I/O, a lock, or
for a CPU the machine's other processes held).
"""

import collections
import re

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_HEAD = re.compile(r"([\d.]+) reactor late by (\d+) ms(?:, on CPU (\d+) of (\d+) ms)?")
_GC = re.compile(r"^=== ([\d.]+) gc gen (\d) ([\d.]+) ms", re.M)


def read_reports(path):
    """[(unix time, ms late, share of the time on CPU, [(file, line, function), ...])] from a stall file."""
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    reports = []
    for chunk in text.split("--- ")[1:]:
        head, _, stack = chunk.partition("\n")
        match = _HEAD.match(head)
        if match:
            cpu, elapsed = match.group(3), match.group(4)
            share = int(cpu) / max(1, int(elapsed)) if cpu is not None else None
            reports.append((float(match.group(1)), int(match.group(2)), share, _FRAME.findall(stack)))
    return reports


def read_gc(path):
    """[(unix time, generation, ms)] of the slow garbage collections in a stall file."""
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    return [(float(t), int(g), float(ms)) for t, g, ms in _GC.findall(text)]


def gc_summary(collections_, since, until):
    """One line: the slow collections in [since, until]."""
    inside = [(gen, ms) for stamp, gen, ms in collections_ if since <= stamp <= until]
    if not inside:
        return "gc: no collection took 5 ms or more"
    worst = max(inside, key=lambda item: item[1])
    total = sum(ms for _, ms in inside)
    return (f"gc: {len(inside)} collections of 5 ms or more, {total:.0f} ms in all,"
            f" worst {worst[1]:.0f} ms (generation {worst[0]})")


def _short(frame):
    path = re.sub(r".*site-packages/", "", frame[0])
    path = re.sub(r".*/game/", "", path)
    return f"{path}:{frame[1]} {frame[2]}"


def culprit(frames, depth=3):
    """The innermost frames of game code (else of anything), innermost first."""
    own = [f for f in frames if "site-packages" not in f[0] and "/lib/python3" not in f[0]
           and not f[0].endswith("twistd")]
    chosen = own[-depth:] if own else frames[-1:]
    inner = _short(frames[-1]) if frames else "?"
    text = " <- ".join(_short(f) for f in reversed(chosen))
    return text if not own or chosen[-1] == frames[-1] else f"{text}  [in {inner}]"


def summary(reports, since, until, top=6):
    """Lines naming the most frequent culprits of the reports in [since, until]."""
    counts = collections.Counter()
    worst = collections.defaultdict(int)
    shares = collections.defaultdict(list)
    for stamp, late, share, frames in reports:
        if since <= stamp <= until:
            key = culprit(frames)
            counts[key] += 1
            worst[key] = max(worst[key], late)
            if share is not None:
                shares[key].append(share)
    lines = []
    for key, count in counts.most_common(top):
        cpu = f", on CPU {100 * sum(shares[key]) / len(shares[key]):3.0f} %" if shares[key] else ""
        lines.append(f"{count:4d}x (worst {worst[key]:4d} ms{cpu}) {key}")
    return lines
