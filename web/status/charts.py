"""
Chart geometry for the status page: heartbeat samples in, SVG shapes out.

Each service gets one small chart: a latency line over the window and, under
it, an availability strip coloured by state (green up, amber degraded, red
down, grey unknown; empty where nothing was checked). Samples are first
downsampled into fixed buckets (5 minutes for 24 hours, never more than
`MAX_BUCKETS`), so a chart stays small however often the heartbeat beats.

This module only computes numbers and path strings; the template
`status/_chart.html` turns them into inline SVG, so every piece of text goes
through Django's autoescaping. No JavaScript, no external library.
"""

import math
from dataclasses import dataclass, field

from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

MAX_BUCKETS = 288
MIN_BUCKET_SECONDS = 60
# Worst first: one failed probe in a bucket colours the whole bucket.
STATE_RANK = {DOWN: 3, DEGRADED: 2, UNKNOWN: 1, UP: 0}

WIDTH = 600
HEIGHT = 80
PLOT_TOP = 6
PLOT_BOTTOM = 54
STRIP_Y = 62
STRIP_HEIGHT = 14


@dataclass(frozen=True)
class Bucket:
    """The samples of one time slot, summarised."""

    start: float
    state: str = None
    latency_ms: float = None
    max_latency_ms: float = None
    count: int = 0


@dataclass(frozen=True)
class StripRect:
    """One run of equal state in the availability strip."""

    x: float
    width: float
    state: str
    label: str


@dataclass
class Chart:
    """Everything the template needs to draw one service's chart."""

    title: str
    width: int = WIDTH
    height: int = HEIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM
    strip_y: int = STRIP_Y
    strip_height: int = STRIP_HEIGHT
    line_path: str = ""
    scale_ms: float = 0.0
    peak_ms: float = None
    strip: list = field(default_factory=list)
    has_data: bool = False

    @property
    def plot_middle(self):
        """The y of the half-scale grid line."""
        return (self.plot_top + self.plot_bottom) / 2


def bucket_seconds_for(span_seconds):
    """The bucket size for a window: whole minutes, at most MAX_BUCKETS buckets.

    24 hours gives 300 s (5-minute buckets); shorter windows get finer
    buckets, never under a minute.
    """
    minutes = math.ceil(span_seconds / MAX_BUCKETS / 60.0)
    return max(MIN_BUCKET_SECONDS, minutes * 60)


def worst_state(states):
    """The worst of some states (down > degraded > unknown > up)."""
    return max(states, key=lambda state: STATE_RANK.get(state, STATE_RANK[UNKNOWN]))


def bucketize(samples, start, end, bucket_seconds):
    """Downsample samples into consecutive buckets from `start` to `end`.

    Args:
        samples (iterable): Objects with `state`, `latency_ms` and `checked_at`
            (HeartbeatSample rows); those outside [start, end] are ignored.
        start (float): Unix time of the first bucket.
        end (float): Unix time the window ends.
        bucket_seconds (float): Width of one bucket.

    Returns:
        list: One Bucket per slot (empty slots have count 0 and state None).
            A bucket's latency is the mean over samples that were not down.
    """
    total = max(1, math.ceil((end - start) / bucket_seconds))
    slots = [[] for _ in range(total)]
    for sample in samples:
        if sample.checked_at is None or not start <= sample.checked_at <= end:
            continue
        index = min(total - 1, int((sample.checked_at - start) // bucket_seconds))
        slots[index].append(sample)
    return [_summarise(start + index * bucket_seconds, slot) for index, slot in enumerate(slots)]


def _summarise(bucket_start, slot):
    if not slot:
        return Bucket(bucket_start)
    latencies = [s.latency_ms for s in slot if s.state != DOWN and s.latency_ms is not None]
    return Bucket(
        start=bucket_start,
        state=worst_state([s.state for s in slot]),
        latency_ms=sum(latencies) / len(latencies) if latencies else None,
        max_latency_ms=max(latencies) if latencies else None,
        count=len(slot),
    )


def nice_ceiling(value):
    """The smallest 1, 2 or 5 times a power of ten that is >= value (>= 1)."""
    if value is None or value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _x(timestamp, start, span, width):
    return max(0.0, min(float(width), (timestamp - start) / span * width))


def line_path(buckets, start, end, scale_ms, max_gap_seconds=None, width=WIDTH, top=PLOT_TOP,
              bottom=PLOT_BOTTOM):
    """The SVG path of the latency line.

    Points sit at bucket centres. The line breaks at a bucket whose samples
    had no latency (the service was down) and across a stretch with no
    samples longer than `max_gap_seconds` (the heartbeat was not beating);
    shorter empty stretches (a heartbeat slower than the buckets) are
    bridged. A lone point becomes a short dash so it still shows.
    """
    span = max(1e-9, end - start)
    points = []  # (x, y, pen_down)
    last_at = None
    for index, bucket in enumerate(buckets):
        if bucket.count and bucket.latency_ms is None:
            last_at = None
            continue
        if bucket.latency_ms is None:
            continue
        centre = bucket.start + _bucket_width(buckets, index, end) / 2
        joined = last_at is not None and (max_gap_seconds is None or centre - last_at <= max_gap_seconds)
        x = _x(centre, start, span, width)
        y = bottom - min(bucket.latency_ms, scale_ms) / scale_ms * (bottom - top)
        points.append((x, y, joined))
        last_at = centre
    commands = []
    for index, (x, y, joined) in enumerate(points):
        if joined:
            commands.append(f"L{x:.1f} {y:.1f}")
            continue
        lone = index + 1 >= len(points) or not points[index + 1][2]
        commands.append(f"M{x:.1f} {y:.1f}" + (" h1.5" if lone else ""))
    return " ".join(commands)


def _bucket_width(buckets, index, end):
    if index + 1 < len(buckets):
        return buckets[index + 1].start - buckets[index].start
    return max(0.0, end - buckets[index].start)


def strip_rects(buckets, start, end, width=WIDTH):
    """Availability runs: consecutive buckets of one state merge into one rect."""
    span = max(1e-9, end - start)
    rects = []
    run_state, run_start, run_end = None, None, None
    for index, bucket in enumerate(buckets):
        bucket_end = bucket.start + _bucket_width(buckets, index, end)
        if bucket.state is not None and bucket.state == run_state and run_end == bucket.start:
            run_end = bucket_end
            continue
        if run_state is not None:
            rects.append(_rect(run_state, run_start, run_end, start, span, width))
        run_state, run_start, run_end = bucket.state, bucket.start, bucket_end
    if run_state is not None:
        rects.append(_rect(run_state, run_start, run_end, start, span, width))
    return rects


def _rect(state, run_start, run_end, start, span, width):
    x = _x(run_start, start, span, width)
    right = _x(run_end, start, span, width)
    minutes = max(1, round((run_end - run_start) / 60))
    return StripRect(x=round(x, 1), width=round(max(0.5, right - x), 1), state=state,
                     label=f"{state} for {minutes} min")


def chart(buckets, start, end, title="", max_gap_seconds=None):
    """The whole chart for one service.

    Args:
        buckets (list): From `bucketize`.
        start (float): Window start (unix time).
        end (float): Window end (unix time).
        title (str): Accessible title (escaped by the template).
        max_gap_seconds (float, optional): Longest stretch without samples
            the latency line bridges (see `line_path`).

    Returns:
        Chart: Geometry; `has_data` is False when no bucket has samples.
    """
    latencies = [b.latency_ms for b in buckets if b.latency_ms is not None]
    peak = max(latencies) if latencies else None
    scale = nice_ceiling(peak)
    return Chart(
        title=title,
        line_path=line_path(buckets, start, end, scale, max_gap_seconds),
        scale_ms=scale,
        peak_ms=peak,
        strip=strip_rects(buckets, start, end),
        has_data=any(b.count for b in buckets),
    )
