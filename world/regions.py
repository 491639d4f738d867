"""
Region definitions: load and validate `world/regions.toml`.

This module only reads and checks data; it never touches the database, so a
bad file can be rejected before the builder changes anything. Every problem
found is reported at once, each naming the region or exit at fault.
"""

import re
import tomllib
from dataclasses import dataclass, field

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
REGION_FIELDS = {"key", "name", "aliases", "services", "desc", "exit"}
EXIT_FIELDS = {"to", "name", "aliases"}
WORLD_FIELDS = {"hub", "limbo_exit", "limbo_exit_aliases"}


class RegionDataError(ValueError):
    """The region data file is unusable; the message names every problem."""

    def __init__(self, problems, path=""):
        self.problems = list(problems)
        where = f" in {path}" if path else ""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"Region data{where} is invalid:\n{lines}")


@dataclass(frozen=True)
class ExitSpec:
    """One exit out of a region."""

    to: str
    name: str
    aliases: tuple = ()


@dataclass(frozen=True)
class RegionSpec:
    """One region: a room housing a part of the fleet."""

    key: str
    name: str
    desc: str
    aliases: tuple = ()
    services: tuple = ()
    exits: tuple = ()


@dataclass(frozen=True)
class WorldSpec:
    """The whole map."""

    hub: str
    regions: tuple
    limbo_exit: str = "hearth"
    limbo_exit_aliases: tuple = ()
    by_key: dict = field(default_factory=dict, compare=False, repr=False)

    def region(self, key):
        """Return the RegionSpec with this key, or None."""
        return self.by_key.get(key)

    def region_of_service(self, service):
        """Return the key of the region housing `service`, or None."""
        for region in self.regions:
            if service in region.services:
                return region.key
        return None


def load_world_spec(path):
    """Read and validate a region data file.

    Args:
        path (str): Path to the TOML file.

    Returns:
        WorldSpec: The validated map.

    Raises:
        RegionDataError: If the file is missing, not TOML, or invalid.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise RegionDataError([f"file not found: {path}"])
    except tomllib.TOMLDecodeError as err:
        raise RegionDataError([f"not valid TOML: {err}"], path)
    return parse_world_spec(data, path)


def parse_world_spec(data, path=""):
    """Validate already-parsed region data.

    Args:
        data (dict): The parsed TOML document.
        path (str): Shown in error messages.

    Returns:
        WorldSpec: The validated map.

    Raises:
        RegionDataError: Listing every problem found.
    """
    problems = []
    world = data.get("world", {})
    raw_regions = data.get("region", [])
    unknown_top = set(data) - {"world", "region"}
    if unknown_top:
        problems.append(f"unknown top-level section(s): {', '.join(sorted(unknown_top))}")
    if not isinstance(raw_regions, list) or not raw_regions:
        raise RegionDataError(problems + ["no [[region]] defined"], path)

    regions = [_parse_region(raw, index, problems) for index, raw in enumerate(raw_regions)]
    regions = [region for region in regions if region]
    by_key = {}
    for region in regions:
        if region.key in by_key:
            problems.append(f"region '{region.key}' is defined twice")
        by_key[region.key] = region
    _check_unique_names(regions, problems)
    _check_exits(regions, by_key, problems)
    hub, limbo_exit, limbo_aliases = _parse_world_section(world, by_key, problems)
    if problems:
        raise RegionDataError(problems, path)
    return WorldSpec(
        hub=hub,
        regions=tuple(regions),
        limbo_exit=limbo_exit,
        limbo_exit_aliases=limbo_aliases,
        by_key=by_key,
    )


def _text_list(value, label, problems):
    """Return `value` as a tuple of stripped non-empty strings, or record why not."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        problems.append(f"{label} must be a list of non-empty strings")
        return ()
    return tuple(item.strip() for item in value)


def _parse_region(raw, index, problems):
    """Turn one [[region]] table into a RegionSpec, or None when unusable."""
    if not isinstance(raw, dict):
        problems.append(f"region #{index + 1} is not a table")
        return None
    key = raw.get("key")
    label = f"region '{key}'" if isinstance(key, str) else f"region #{index + 1}"
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(f"{label}: key must be lowercase letters, digits, '-' or '_' (got {key!r})")
        return None
    unknown = set(raw) - REGION_FIELDS
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: name is missing")
        name = key
    desc = raw.get("desc", "")
    if not isinstance(desc, str) or not desc.strip():
        problems.append(f"{label}: desc is missing")
        desc = ""
    exits = []
    for exit_index, raw_exit in enumerate(raw.get("exit", [])):
        spec = _parse_exit(raw_exit, f"{label} exit #{exit_index + 1}", problems)
        if spec:
            exits.append(spec)
    return RegionSpec(
        key=key,
        name=name.strip(),
        desc=desc.strip(),
        aliases=_text_list(raw.get("aliases", []), f"{label}: aliases", problems),
        services=_text_list(raw.get("services", []), f"{label}: services", problems),
        exits=tuple(exits),
    )


def _parse_exit(raw, label, problems):
    """Turn one [[region.exit]] table into an ExitSpec, or None when unusable."""
    if not isinstance(raw, dict):
        problems.append(f"{label} is not a table")
        return None
    unknown = set(raw) - EXIT_FIELDS
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    to, name = raw.get("to"), raw.get("name")
    if not isinstance(to, str) or not to:
        problems.append(f"{label}: 'to' is missing")
        return None
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{label}: name is missing")
        return None
    aliases = _text_list(raw.get("aliases", []), f"{label}: aliases", problems)
    return ExitSpec(to=to, name=name.strip(), aliases=aliases)


def _check_unique_names(regions, problems):
    """Region names and aliases must be unique across the map (case-insensitive)."""
    owner = {}
    for region in regions:
        for word in (region.name, *region.aliases):
            folded = word.lower()
            if folded in owner and owner[folded] != region.key:
                problems.append(
                    f"duplicate alias '{word}': used by region '{owner[folded]}' and region '{region.key}'"
                )
            elif folded in owner and word != region.name:
                problems.append(f"duplicate alias '{word}' in region '{region.key}'")
            owner[folded] = region.key


def _check_exits(regions, by_key, problems):
    """Every exit leads to a known region, and exit names are unique per room."""
    for region in regions:
        seen = {}
        for spec in region.exits:
            if spec.to not in by_key:
                problems.append(
                    f"region '{region.key}': exit '{spec.name}' leads to unknown region '{spec.to}'"
                )
            if spec.to == region.key:
                problems.append(f"region '{region.key}': exit '{spec.name}' leads back to itself")
            for word in (spec.name, *spec.aliases):
                folded = word.lower()
                if folded in seen:
                    problems.append(
                        f"region '{region.key}': duplicate alias '{word}' "
                        f"(exits '{seen[folded]}' and '{spec.name}')"
                    )
                seen[folded] = spec.name


def _parse_world_section(world, by_key, problems):
    """Check the [world] table; return (hub, limbo_exit, limbo_exit_aliases)."""
    if not isinstance(world, dict):
        problems.append("[world] must be a table")
        return "", "", ()
    unknown = set(world) - WORLD_FIELDS
    if unknown:
        problems.append(f"[world]: unknown field(s) {', '.join(sorted(unknown))}")
    hub = world.get("hub", "")
    if hub not in by_key:
        problems.append(f"[world]: hub is unknown region {hub!r}")
    limbo_exit = world.get("limbo_exit", hub)
    if not isinstance(limbo_exit, str) or not limbo_exit.strip():
        problems.append("[world]: limbo_exit must be a non-empty name")
        limbo_exit = ""
    aliases = _text_list(world.get("limbo_exit_aliases", []), "[world]: limbo_exit_aliases", problems)
    return hub, limbo_exit.strip(), aliases
