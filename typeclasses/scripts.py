"""
Scripts: the world's persistent systems with a timer.

`HeartbeatScript` is a global Script (settings.GLOBAL_SCRIPTS["heartbeat"]):
one instance, surviving reload and cold restart without doubling, beating
every HEARTBEAT_INTERVAL seconds. Its state is declared here; the work is in
world/heartbeat/service.py.
"""

from evennia.scripts.scripts import DefaultScript
from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils import logger

from .attributestore import OneSaveAttributesMixin
from .lockeval import QuickLocksMixin


class Script(QuickLocksMixin, OneSaveAttributesMixin, DefaultScript):
    """Base for the world's scripts (Attributes saved once per update, locks checked from compiled expressions)."""

    def at_idmapper_flush(self):
        """Forget this Script in world.globalscripts when the caches are flushed."""
        from world.globalscripts import forget

        forget(self)
        return super().at_idmapper_flush()


class HeartbeatScript(Script):
    """The fleet's heartbeat: probes every service each interval."""

    tracker_memory = AttributeProperty(dict, autocreate=False)
    latest = AttributeProperty(dict, autocreate=False)
    last_beat_at = AttributeProperty(0.0, autocreate=False)
    last_cycle_seconds = AttributeProperty(0.0, autocreate=False)
    last_prune_at = AttributeProperty(0.0, autocreate=False)

    def at_script_creation(self):
        self.key = "heartbeat"
        self.desc = "Probes the fleet's services and announces state changes"
        self.persistent = True

    def at_repeat(self, **kwargs):
        """Run one beat (the probes run concurrently, off the reactor's back)."""
        from world.heartbeat.service import beat

        beat(self).addErrback(lambda failure: logger.log_trace(failure.getErrorMessage()))

    def set_interval(self, seconds):
        """Change the beat interval; it persists across reload and restart."""
        self.start(interval=int(seconds))


class IncidentsScript(Script):
    """The escalation matrix's clock: climbs, re-alerts, silences, the outbox.

    Every deadline lives on the incident rows, so this Script only needs to
    look every few seconds; a reload or a restart loses nothing.
    """

    def at_script_creation(self):
        self.key = "incidents"
        self.desc = "Escalates incidents, expires silences, delivers the outbox"
        self.persistent = True

    def at_repeat(self, **kwargs):
        """Expire, climb, re-alert and deliver, each in a reactor turn of its own."""
        from world.incidents.periodic import run_due_work

        run_due_work()
