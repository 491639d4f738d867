"""
Service checks: the entries of settings.HEALTH_CHECKS, validated.

Adding a service is one entry in settings:

    HEALTH_CHECKS.append({"name": "relay", "kind": "tcp", "target": "127.0.0.1:7777",
                          "region": "hearth", "severity": "P2"})

Every entry is checked when the server starts and when `bin/timmy run` or the
heartbeat CLI loads them; a malformed entry is reported naming the entry.
"""

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

from world.plaintext import is_number

KINDS = ("http", "ollama", "tcp", "disk", "evennia", "agents", "backup")
SEVERITIES = ("P0", "P1", "P2")
CRITICAL_SEVERITIES = ("P0", "P1")
COMMON_FIELDS = {"name", "kind", "target", "timeout", "region", "severity", "enabled",
                 "degraded_ms", "announce_down", "announce_up", "auto_recover"}
KIND_FIELDS = {
    "http": {"expect_status"},
    "ollama": set(),
    "tcp": set(),
    "disk": {"warn_percent", "critical_percent"},
    "evennia": set(),
    "agents": {"stale_after"},
    "backup": set(),
}
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 120.0


class CheckConfigError(ValueError):
    """A service check in settings is malformed; the message names the entry."""


@dataclass(frozen=True)
class CheckSpec:
    """One validated service check."""

    name: str
    kind: str
    target: str = ""
    timeout: float = DEFAULT_TIMEOUT
    region: str = ""
    severity: str = "P2"
    degraded_ms: float = None
    options: dict = field(default_factory=dict, compare=False)
    announce_down: str = ""
    announce_up: str = ""
    auto_recover: bool = False

    @property
    def critical(self):
        """True for P0/P1 checks: the CLI exits non-zero when one is down."""
        return self.severity in CRITICAL_SEVERITIES


def load_checks(entries, known_regions=None, housed=None):
    """Validate settings.HEALTH_CHECKS entries.

    Args:
        entries (list): The raw dicts from settings.
        known_regions (iterable, optional): Region keys a check may name.
        housed (dict, optional): service name -> region key from the region data
            file; a check without a region gets that one, a check naming
            another region is an error.

    Returns:
        list: CheckSpec for every enabled entry, in order.

    Raises:
        CheckConfigError: Naming the first malformed entry and what is wrong.
    """
    if not isinstance(entries, (list, tuple)):
        raise CheckConfigError("HEALTH_CHECKS must be a list of dicts")
    checks, seen = [], set()
    for index, entry in enumerate(entries):
        spec = parse_check(entry, index, known_regions, housed or {})
        if spec is None:
            continue
        if spec.name in seen:
            raise CheckConfigError(f"HEALTH_CHECKS entry '{spec.name}': defined twice")
        seen.add(spec.name)
        checks.append(spec)
    return checks


def parse_check(entry, index, known_regions=None, housed=None):
    """Validate one entry; return a CheckSpec, or None if it is disabled."""
    label = f"HEALTH_CHECKS[{index}]"
    if not isinstance(entry, dict):
        raise CheckConfigError(f"{label}: must be a dict, got {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or not name.replace("-", "").replace("_", "").isalnum():
        raise CheckConfigError(f"{label}: 'name' must be a word (letters, digits, - or _), got {name!r}")
    label = f"HEALTH_CHECKS entry '{name}'"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise CheckConfigError(f"{label}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    unknown = set(entry) - COMMON_FIELDS - KIND_FIELDS[kind]
    if unknown:
        raise CheckConfigError(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    if not entry.get("enabled", True):
        return None
    target = _check_target(label, kind, entry.get("target", ""))
    timeout = _number(label, "timeout", entry.get("timeout", DEFAULT_TIMEOUT), 0.05, MAX_TIMEOUT)
    severity = entry.get("severity", "P2")
    if severity not in SEVERITIES:
        raise CheckConfigError(f"{label}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    region = _check_region(label, name, entry.get("region"), known_regions, housed or {})
    degraded_ms = entry.get("degraded_ms")
    if degraded_ms is not None:
        degraded_ms = _number(label, "degraded_ms", degraded_ms, 1, 600000)
    options = {key: entry[key] for key in KIND_FIELDS[kind] if key in entry}
    _check_options(label, kind, options)
    return CheckSpec(
        name=name, kind=kind, target=target, timeout=timeout, region=region,
        severity=severity, degraded_ms=degraded_ms, options=options,
        announce_down=str(entry.get("announce_down", "")),
        announce_up=str(entry.get("announce_up", "")),
        auto_recover=bool(entry.get("auto_recover", False)),
    )


def _number(label, key, value, low, high):
    """A float within bounds, or an error naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckConfigError(f"{label}: '{key}' must be a number, got {value!r}")
    if not low <= value <= high:
        raise CheckConfigError(f"{label}: '{key}' must be between {low} and {high}, got {value}")
    return float(value)


def _check_target(label, kind, target):
    """The target must suit the kind: a URL, host:port or a path."""
    if not isinstance(target, str):
        raise CheckConfigError(f"{label}: 'target' must be a string")
    if kind in ("http", "ollama"):
        parsed = urlparse(target)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise CheckConfigError(f"{label}: 'target' must be an http(s) URL, got {target!r}")
    elif kind == "tcp":
        host, _, port = target.rpartition(":")
        if not host or not is_number(port) or not 0 < int(port) < 65536:
            raise CheckConfigError(f"{label}: 'target' must be host:port, got {target!r}")
    elif kind == "disk" and not target:
        raise CheckConfigError(f"{label}: 'target' must be a path on the filesystem to watch")
    return target


def _check_region(label, name, region, known_regions, housed):
    """The region showing this service: given, or from the region data file."""
    home = housed.get(name)
    if region is None:
        return home or ""
    if known_regions is not None and region not in known_regions:
        raise CheckConfigError(f"{label}: unknown region {region!r}")
    if home and region != home:
        raise CheckConfigError(
            f"{label}: region {region!r} differs from the region data file, which houses it in {home!r}"
        )
    return region


def _check_options(label, kind, options):
    """Kind-specific fields."""
    if kind == "disk":
        warn = _number(label, "warn_percent", options.get("warn_percent", 85), 0, 100)
        critical = _number(label, "critical_percent", options.get("critical_percent", 95), 0, 100)
        if warn > critical:
            raise CheckConfigError(f"{label}: warn_percent ({warn}) is above critical_percent ({critical})")
        options.update(warn_percent=warn, critical_percent=critical)
    if kind == "http" and "expect_status" in options:
        status = options["expect_status"]
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise CheckConfigError(f"{label}: 'expect_status' must be an HTTP status code")
    if kind == "agents":
        options["stale_after"] = _number(label, "stale_after", options.get("stale_after", 300), 5, 86400)


def configured_checks():
    """The checks from settings, validated against the region data file.

    Raises:
        CheckConfigError: For a malformed entry.
    """
    from django.conf import settings

    regions, housed = _region_facts(settings.TIMMY_REGIONS_FILE)
    return load_checks(settings.HEALTH_CHECKS, regions, housed)


_REGION_FACTS = {}  # path -> ((mtime_ns, size), regions, housed)


def _region_facts(path):
    """The region keys and which region houses each service, read again only when the file changed.

    Every beat loads the checks; parsing the TOML file each time cost the
    reactor about half a millisecond a beat.
    """
    from world.regions import RegionDataError, load_world_spec

    try:
        stat = os.stat(path)
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    known = _REGION_FACTS.get(path)
    if known and version is not None and known[0] == version:
        return list(known[1]), dict(known[2])
    try:
        spec = load_world_spec(path)
    except RegionDataError:
        return None, {}
    regions = [region.key for region in spec.regions]
    housed = {service: region.key for region in spec.regions for service in region.services}
    if version is not None:
        _REGION_FACTS[path] = (version, regions, housed)
    return list(regions), dict(housed)
