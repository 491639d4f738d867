"""
Incident commands: @incidents, @ack, @resolve, @escalate, @silence.

Thin: each parses, calls one function of world.incidents, reports. Summaries,
notes and reasons are stored and shown as plain text.
"""

from world.incidents import core, render, silences, sources
from world.incidents.core import IncidentError
from world.incidents.silences import SilenceError
from world.models import Incident
from world.status_report import service_names

from .command import Command


class CmdIncidents(Command):
    """
    List incidents, show one, or add a note to one.

    Usage:
      @incidents
      @incidents/all
      @incidents <id>
      @incidents/note <id> = <text>

    Switches:
      all  - resolved incidents too (the latest 20)
      note - add a note to an incident's timeline (Helper and up)

    Examples:
      @incidents
      @incidents 12
      @incidents/note 12 = restarted ollama, watching it
    """

    key = "@incidents"
    aliases = ["incidents"]
    switch_options = ("all", "note")
    locks = "cmd:all();note:perm(Helper)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.target = self.lhs.strip() if "note" in self.switches else self.args.strip()
        if "note" in self.switches and (not self.target or not (self.rhs or "").strip()):
            self.refuse(f"Say which incident and what: {self.usage()}")
        if "all" in self.switches and self.target:
            self.refuse(self.usage())

    def func(self):
        try:
            if "note" in self.switches:
                self.note()
            elif self.target:
                self.msg(render.timeline(core.find(self.target)))
            elif "all" in self.switches:
                latest = list(Incident.objects.order_by("-id")[:20])[::-1]
                self.msg(render.incident_list(latest, "Incidents (latest 20)"))
            else:
                self.msg(render.incident_list(core.open_incidents(), "Open incidents"))
        except IncidentError as err:
            self.msg(f"|r{err}|n")

    def note(self):
        if not self.access(self.caller, "note"):
            self.msg("|rYou may not add notes to incidents.|n")
            return
        incident = core.add_note(self.target, self.caller.key, self.rhs)
        self.msg(f"Noted on incident #{incident.id}.")


class CmdAck(Command):
    """
    Acknowledge an incident: you own it, and it stops climbing.

    Usage:
      @ack <id>

    An acknowledged incident that is not resolved re-alerts after its
    severity's ack timeout.

    Examples:
      @ack 12
    """

    key = "@ack"
    aliases = ["ack"]
    locks = "cmd:perm(Helper)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.target = self.args.strip()
        if not self.target:
            self.refuse(self.usage())

    def func(self):
        try:
            incident = core.acknowledge(self.target, self.caller.key)
        except IncidentError as err:
            self.msg(f"|r{err}|n")
            return
        self.msg(f"You acknowledge incident #{incident.id}; it is yours and stops climbing.")


class CmdResolve(Command):
    """
    Resolve an incident, with an optional closing note.

    Usage:
      @resolve <id> [= <note>]

    Resolving closes the incident's Gitea issue (if it reached the humans)
    with a comment.

    Examples:
      @resolve 12
      @resolve 12 = ollama restarted, model reloaded
    """

    key = "@resolve"
    aliases = ["resolve"]
    locks = "cmd:perm(Builder)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.target = self.lhs.strip()
        if not self.target:
            self.refuse(self.usage())

    def func(self):
        try:
            incident = core.resolve(self.target, self.caller.key, self.rhs or "")
        except IncidentError as err:
            self.msg(f"|r{err}|n")
            return
        self.msg(f"Incident #{incident.id} is resolved.")


class CmdEscalate(Command):
    """
    Open an incident by hand.

    Usage:
      @escalate <P0|P1|P2> <summary>

    P0 pages the peer and the builders at once; P1 and P2 start with the
    on-duty agent. The same summary while one is open adds to it. A summary
    that starts with a service's name is filed against that service, and
    joins its open "down" incident while the heartbeat has it down.

    Examples:
      @escalate P1 gitea answers 502 to pushes
    """

    key = "@escalate"
    aliases = ["escalate"]
    locks = "cmd:perm(Helper)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        parts = self.args.strip().split(None, 1)
        if len(parts) < 2:
            self.refuse(f"Give a severity and a summary. {self.usage()}")
        self.severity, self.summary = parts[0].upper(), parts[1]
        if self.severity not in ("P0", "P1", "P2"):
            self.refuse(f"Unknown severity '{parts[0][:10]}': use P0, P1 or P2. {self.usage()}")

    def func(self):
        fingerprint, service = sources.escalation_key(self.summary)
        try:
            incident, outcome = core.trigger(fingerprint, self.severity, self.summary, self.caller.key,
                                             service=service)
        except IncidentError as err:
            self.msg(f"|r{err}|n")
            return
        if outcome == "retriggered":
            self.msg(f"Incident #{incident.id} is already open; your report was added to it "
                     f"({incident.trigger_count} reports).")
        else:
            self.msg(f"Incident #{incident.id} opened ({incident.severity}, level {incident.level}, "
                     f"owner {incident.owner}).")


class CmdSilence(Command):
    """
    Silence a service for a maintenance window.

    Usage:
      @silence
      @silence <service> <duration> = <reason>
      @silence/clear <service>

    Switches:
      clear - end a service's silence now

    While silenced, a service going down opens no incident. Durations: 90s,
    30m, 2h, 1d (1 minute to 7 days). Expiry is announced on ops.

    Examples:
      @silence ollama 30m = upgrading the model server
      @silence/clear ollama
    """

    key = "@silence"
    aliases = ["silence"]
    switch_options = ("clear",)
    locks = "cmd:perm(Builder)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.service, self.seconds = "", None
        words = self.lhs.split()
        if "clear" in self.switches:
            if len(words) != 1:
                self.refuse(self.usage())
            self.service = self._service(words[0])
        elif self.args.strip():
            if len(words) != 2 or not (self.rhs or "").strip():
                self.refuse(f"Say what, for how long and why. {self.usage()}")
            self.service = self._service(words[0])
            try:
                self.seconds = silences.parse_duration(words[1])
            except SilenceError as err:
                self.refuse(str(err))

    def _service(self, word):
        name = word.lower()
        if name not in service_names():
            self.refuse(f"There is no service called '{name[:40]}'. Services: {', '.join(service_names())}.")
        return name

    def func(self):
        try:
            if "clear" in self.switches:
                silences.clear(self.service, self.caller.key)
                self.msg(f"{self.service} is no longer silenced.")
            elif self.service:
                silence = silences.add(self.service, self.seconds, self.rhs, self.caller.key)
                self.msg(f"{self.service} is silenced for {self.seconds // 60} min: {silence.reason}")
            else:
                self.list_silences()
        except SilenceError as err:
            self.msg(f"|r{err}|n")

    def list_silences(self):
        from world.presentation import age_text

        import time

        active = silences.active()
        if not active:
            self.msg("No service is silenced.")
            return
        lines = ["|wSilenced services:|n"]
        for silence in active:
            lines.append(f"  {silence.service:<10} {age_text(silence.until - time.time())} left, "
                         f"by {silence.created_by}: {silence.reason}")
        self.msg("\n".join(lines))
