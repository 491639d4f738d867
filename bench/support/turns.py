"""
Reading bench/support/turnlog.py's records: what the Server's reactor spent
its time on, and what each of the operator's slowest looks waited behind.
"""

import bisect
import collections
import json

AGENTS = ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")


def read(path):
    with open(path) as handle:
        return json.load(handle)


def sender(who, operator):
    """'operator', 'agent', 'player' or 'login' for a message's sender."""
    if who == operator:
        return "operator"
    if who in AGENTS:
        return "agent"
    return "login" if who == "(not logged in)" else "player"


def kind_of(part, operator):
    """A part's kind: a timed call's function, or who sent which input (and its first word)."""
    started, took, who, what, words = part
    if who == "call":
        return f"call {what}"
    first = words.split()[0] if words.split() else ""
    return f"{sender(who, operator)} {what} {first}".rstrip()


def busy_table(records, operator, top=20):
    """Lines: per kind, how often a second, mean and max ms, share of the busy time."""
    if not records:
        return ["(no records)"]
    span = max(1e-6, records[-1][0] - records[0][0])
    busy = max(1e-6, sum(record[1] for record in records))
    kinds = collections.defaultdict(list)
    for record in records:
        for part in record[4]:
            kinds[kind_of(part, operator)].append(part[1])
    lines = [f"{len(records)} reactor pieces in {span:.0f} s, busy {100 * busy / 1000 / span:.1f} % of the time",
             f"  {'per s':>7} {'mean ms':>8} {'max ms':>7} {'share':>6}  what"]
    for kind, took in sorted(kinds.items(), key=lambda item: -sum(item[1]))[:top]:
        lines.append(f"  {len(took) / span:7.2f} {sum(took) / len(took):8.3f} {max(took):7.2f}"
                     f" {100 * sum(took) / busy:5.1f}%  {kind}")
    return lines


def operator_looks(records, operator):
    """[(unix time the Server started it, ms it took)] of the operator's looks, in order."""
    return sorted((part[0], part[1]) for record in records for part in record[4]
                  if part[2] == operator and part[4].startswith("look"))


def slowest(records, looks, operator, fraction=0.01):
    """Lines: each of the slowest `fraction` of `looks` [(sent, ms)], when the Server started it and what ran before."""
    served = operator_looks(records, operator)
    starts = [start for start, _ in served]
    count = max(1, int(len(looks) * fraction))
    waited = collections.Counter()
    lines = []
    for sent, total in sorted(looks, key=lambda look: -look[1])[:count]:
        index = bisect.bisect_left(starts, sent)
        if index >= len(served) or served[index][0] > sent + total / 1000:
            lines.append(f"  {total:6.2f} ms: not found in the Server's records")
            continue
        start, took = served[index]
        before = [part for record in records if record[0] < start for part in record[4]
                  if part[0] < start and part[0] + part[1] / 1000 >= sent]
        names = sorted({kind_of(part, operator) for part in before})
        waited.update(names or ["nothing"])
        lines.append(f"  {total:6.2f} ms: the Server started it after {1000 * (start - sent):.2f} ms and took"
                     f" {took:.2f} ms; ran before it: {', '.join(names) or 'nothing'}")
    summary = ", ".join(f"{name} {n}" for name, n in waited.most_common())
    return [f"of the slowest {count} looks, what ran in the Server between sending and serving: {summary}"] + lines
