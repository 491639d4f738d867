"""
Server start/stop hooks.

Evennia calls these at points of its start, reload and shutdown sequence.
Each subsystem of Timmy World that needs one hooks in here, in one line.
"""

from world import lifecycle


def at_server_init():
    """First thing on any start."""


def at_server_start():
    """Every start (cold or reload), after the world is loaded."""
    from world.heartbeat.service import checks_or_log
    from world.incidents import sources

    from evennia.utils import delay

    from world.heartbeat.service import beat

    from world.recovery import auto, records

    records.mark_interrupted()  # a playbook cut off by a crash shows as interrupted
    auto.connect()  # self-healing: a service going down may run its playbook once
    sources.connect()  # heartbeat transitions open and resolve incidents
    checks_or_log()
    delay(1, beat)  # a fresh status right after start, then every interval  # a malformed HEALTH_CHECKS entry is logged loudly, by name
    lifecycle.write_ready_file()


def at_server_stop():
    """Every stop (cold or reload): write what is written behind, then say we are going."""
    from typeclasses.writebehind import flush_all

    flush_all()
    lifecycle.remove_ready_file()


def at_server_reload_start():
    """After a reload."""


def at_server_reload_stop():
    """Before a reload."""


def at_server_cold_start():
    """After a cold start (not a reload)."""


def at_server_cold_stop():
    """Before a full shutdown (not a reload)."""
