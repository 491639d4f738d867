"""
The idempotent world builder.

`build_world()` makes the database match `world/regions.toml`: one
`RegionRoom` per region, the exits between them and the exit from Limbo to the
hub. Rooms and exits are found again by tag (never by name), so renaming a
region in the data file renames the room instead of making a second one, and
running the builder twice changes nothing the second time.

The data file is validated completely before anything is written; a bad file
raises `RegionDataError` and leaves the existing world untouched.

Called from `at_initial_setup`, from `bin/timmy build` (see world/cli.py)
and, through `build_world_in_game`, from `@buildworld`: in a running Server
the agents' password hashes are made in a worker thread first.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from world.regions import load_world_spec

REGION_TAG_CATEGORY = "timmy_region"
EXIT_TAG_CATEGORY = "timmy_exit"
ROOM_TYPECLASS = "typeclasses.rooms.RegionRoom"
EXIT_TYPECLASS = "typeclasses.exits.Exit"
LIMBO_EXIT_TAG = "limbo->hub"


@dataclass
class BuildReport:
    """What one run of the builder did."""

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self):
        """True if the run wrote anything."""
        return bool(self.created or self.updated or self.removed)

    def summary(self):
        """One line for an operator."""
        parts = [
            f"{len(self.created)} created",
            f"{len(self.updated)} updated",
            f"{len(self.removed)} removed",
            f"{self.unchanged} unchanged",
        ]
        return "World build: " + ", ".join(parts) + "."


def build_world(path=None, agents=True, agent_plan=None):
    """Make the world match the region data file, and create the agents.

    Args:
        path (str, optional): Region data file; defaults to settings.TIMMY_REGIONS_FILE.
        agents (bool): Also make sure every persona has its account and
            AgentCharacter (world/agentfleet.py).
        agent_plan (CredentialPlan, optional): The agents' passwords to use
            (default: the credentials file's, new ones made here).

    Returns:
        BuildReport: What was created, updated and removed.

    Raises:
        RegionDataError: The file is invalid; nothing was changed.
    """
    spec = load_world_spec(path or settings.TIMMY_REGIONS_FILE)
    report = BuildReport()
    with transaction.atomic():
        rooms = {region.key: _ensure_room(region, report) for region in spec.regions}
        wanted = set()
        for region in spec.regions:
            for exit_spec in region.exits:
                tag = f"{region.key}->{exit_spec.to}"
                wanted.add(tag)
                _ensure_exit(tag, exit_spec.name, exit_spec.aliases, rooms[region.key], rooms[exit_spec.to], report)
        limbo = find_limbo()
        if limbo:
            wanted.add(LIMBO_EXIT_TAG)
            _ensure_exit(LIMBO_EXIT_TAG, spec.limbo_exit, spec.limbo_exit_aliases, limbo, rooms[spec.hub], report)
        _remove_stale_exits(wanted, report)
    if agents:
        from world.agentfleet import ensure_agents

        ensure_agents(report, plan=agent_plan)
    return report


def build_world_in_game(path=None, in_thread=None):
    """`build_world` for a running Server: any agent password hash is made in a worker thread first.

    The data file is checked before anything else, so a bad one raises here
    at once and nothing is hashed or changed. Then the agents' passwords are
    planned (world/agentfleet.py `plan_credentials`), those the build will
    store are hashed in one thread call, and the build runs on the reactor
    with those hashes at hand: creating an account stores its hash instead
    of making it there (world/passwords.py `all_prehashed`).

    Args:
        path (str, optional): Region data file; defaults to settings.TIMMY_REGIONS_FILE.
        in_thread (callable, optional): Stands in for `deferToThread` (tests).

    Returns:
        Deferred: Fires with the BuildReport; at once when no hash is needed.

    Raises:
        RegionDataError: The file is invalid; nothing was changed.
    """
    from world.agentfleet import passwords_to_hash, plan_credentials
    from world.passwords import all_prehashed, hash_all_in_thread

    load_world_spec(path or settings.TIMMY_REGIONS_FILE)
    plan = plan_credentials()

    def build(hashes):
        with all_prehashed(hashes):
            return build_world(path, agent_plan=plan)

    return hash_all_in_thread(passwords_to_hash(plan), in_thread).addCallback(build)


def find_region(key):
    """Return the room of region `key`, or None if it is not built."""
    from evennia import search_tag

    found = search_tag(key, category=REGION_TAG_CATEGORY)
    return found[0] if found else None


def find_hub():
    """Return the hub region's room (The Hearth), or None before the first build."""
    from world.regions import RegionDataError

    try:
        spec = load_world_spec(settings.TIMMY_REGIONS_FILE)
    except RegionDataError:
        return None
    return find_region(spec.hub)


def find_limbo():
    """Return Limbo (Evennia's default home room) if it exists and is not a region."""
    from evennia.objects.models import ObjectDB

    limbo = ObjectDB.objects.get_id(settings.DEFAULT_HOME)
    if not limbo or limbo.location is not None or limbo.destination is not None:
        return None
    if limbo.tags.get(category=REGION_TAG_CATEGORY):
        return None
    if not limbo.is_typeclass("evennia.objects.objects.DefaultRoom", exact=False):
        return None
    return limbo


def _ensure_room(region, report):
    """Create or update the room for one region."""
    from evennia.utils import create

    room = find_region(region.key)
    if room is None:
        room = create.create_object(
            ROOM_TYPECLASS,
            key=region.name,
            aliases=list(region.aliases),
            tags=[(region.key, REGION_TAG_CATEGORY)],
            nohome=True,
        )
        _apply_room_fields(room, region)
        report.created.append(f"room {region.name}")
        return room
    changes = []
    if not room.is_typeclass(ROOM_TYPECLASS, exact=True):
        room.swap_typeclass(ROOM_TYPECLASS, clean_attributes=False)
        changes.append("typeclass")
    if room.key != region.name:
        room.key = region.name
        changes.append("name")
    if set(room.aliases.all()) != set(region.aliases):
        room.aliases.clear()
        room.aliases.add(list(region.aliases))
        changes.append("aliases")
    changes += _apply_room_fields(room, region)
    _count(report, f"room {region.name}", changes)
    return room


def _apply_room_fields(room, region):
    """Set the data-driven attributes of a region room; return the names changed."""
    changes = []
    wanted = {
        "region_key": region.key,
        "static_desc": region.desc,
        "housed_services": list(region.services),
    }
    for name, value in wanted.items():
        if getattr(room, name) != value:
            setattr(room, name, value)
            changes.append(name)
    return changes


def _ensure_exit(tag, name, aliases, source, destination, report):
    """Create or update one builder-owned exit, found by its tag."""
    from evennia import search_tag
    from evennia.utils import create

    found = search_tag(tag, category=EXIT_TAG_CATEGORY)
    label = f"exit {source.key} -> {destination.key}"
    if not found:
        create.create_object(
            EXIT_TYPECLASS,
            key=name,
            aliases=list(aliases),
            location=source,
            destination=destination,
            tags=[(tag, EXIT_TAG_CATEGORY)],
        )
        report.created.append(label)
        return
    exit_obj, changes = found[0], []
    for extra in found[1:]:
        extra.delete()
        changes.append("duplicate")
    if exit_obj.key != name:
        exit_obj.key = name
        changes.append("name")
    if set(exit_obj.aliases.all()) != set(aliases):
        exit_obj.aliases.clear()
        exit_obj.aliases.add(list(aliases))
        changes.append("aliases")
    if exit_obj.location != source:
        exit_obj.location = source
        changes.append("location")
    if exit_obj.destination != destination:
        exit_obj.destination = destination
        changes.append("destination")
    _count(report, label, changes)


def _remove_stale_exits(wanted, report):
    """Delete builder-owned exits no longer in the data file."""
    from evennia.objects.models import ObjectDB

    for exit_obj in ObjectDB.objects.filter(db_tags__db_category=EXIT_TAG_CATEGORY):
        tag = exit_obj.tags.get(category=EXIT_TAG_CATEGORY)
        if tag not in wanted:
            report.removed.append(f"exit {exit_obj.key} ({tag})")
            exit_obj.delete()


def _count(report, label, changes):
    """Record one object as updated (with what changed) or unchanged."""
    if changes:
        report.updated.append(f"{label} ({', '.join(changes)})")
    else:
        report.unchanged += 1
