"""
Initial setup: runs once, the very first time the server starts.

Evennia has already made Account #1, its character and Limbo. Here the world
is built from the region data file and the superuser is moved to the hub, so
the first `look` shows The Hearth.
"""

from evennia.utils import logger

from world import lifecycle


def at_initial_setup():
    """Build the regions and place the superuser at the hub."""
    from evennia.accounts.models import AccountDB

    from world.builder import build_world, find_hub

    report = build_world()
    logger.log_info(report.summary())
    hub = find_hub()
    superuser = AccountDB.objects.filter(id=1).first()
    character = superuser.db._last_puppet if superuser else None
    if hub and character:
        character.home = hub
        character.move_to(hub, quiet=True, move_type="teleport")
    lifecycle.mark_initial_setup_ran()
