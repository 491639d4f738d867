"""
@incidents, @ack, @resolve, @escalate and @silence as players see them.
"""

from unittest.mock import patch

from evennia.utils.test_resources import EvenniaCommandTest

from commands.incidents import CmdAck, CmdEscalate, CmdIncidents, CmdResolve, CmdSilence
from commands.status import CmdStatus
from world.heartbeat.tracker import Transition
from world.incidents import core, sources
from world.models import Incident, Silence
from world.servicestate import DOWN, UP, ServiceState

from .support.incidents import IncidentMixin


class IncidentCommandTests(IncidentMixin, EvenniaCommandTest):
    def make_player(self):
        self.char2.permissions.clear()
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Player")
        return self.char2

    def test_escalate_opens_and_lists(self):
        self.call(CmdEscalate(), "P1 gitea answers 502", "Incident #1 opened (P1, level 1, owner Timmy).")
        self.call(CmdEscalate(), "p1 Gitea answers 502", "Incident #1 is already open; your report was added")
        text = self.call(CmdIncidents(), "", "Open incidents")
        self.assertIn("gitea answers 502", text)
        self.assertIn("x2", text)

    def test_escalating_a_service_the_heartbeat_has_down_joins_its_incident_and_is_resolved_with_it(self):
        with patch("world.servicestate.current", return_value=ServiceState("ollama", state=DOWN)):
            self.call(CmdEscalate(), "P1 ollama is down", "Incident #1 opened (P1")
        incident = Incident.objects.get()
        self.assertEqual((incident.fingerprint, incident.service, incident.source),
                         (sources.fingerprint_for("ollama"), "ollama", "manual"))
        sources.on_transition(None, Transition("ollama", DOWN, UP, "v0.5.7", at=self.now + 60))
        incident.refresh_from_db()
        self.assertEqual((incident.state, incident.resolved_by), (Incident.RESOLVED, "heartbeat"))

    def test_escalating_a_service_that_is_up_stays_a_manual_incident(self):
        with patch("world.servicestate.current", return_value=ServiceState("ollama", state=UP)):
            self.call(CmdEscalate(), "P2 ollama answers in riddles", "Incident #1 opened")
        incident = Incident.objects.get()
        self.assertEqual((incident.fingerprint, incident.service), ("manual:ollama answers in riddles", "ollama"))
        sources.on_transition(None, Transition("ollama", DOWN, UP, "v0.5.7", at=self.now + 60))
        incident.refresh_from_db()
        self.assertEqual(incident.state, Incident.OPEN)

    def test_escalate_bad_input_changes_nothing(self):
        self.call(CmdEscalate(), "P7 the sky", "Unknown severity 'P7': use P0, P1 or P2.")
        self.call(CmdEscalate(), "P1", "Give a severity and a summary.")
        self.call(CmdEscalate(), "", "Give a severity and a summary.")
        self.assertEqual(Incident.objects.count(), 0)

    def test_escalate_hostile_summary_is_shown_as_plain_text(self):
        self.call(CmdEscalate(), "P2 |lcquit|ltclick|le |[r" + "x" * 10000, "Incident #1 opened")
        text = self.call(CmdIncidents(), "1", "Incident #1")
        self.assertNotIn("|lc", text)
        self.assertLess(len(text), 2000)

    def test_timeline_ack_note_resolve(self):
        incident, _ = core.trigger("svc:x", "P1", "x is down", "heartbeat")
        self.call(CmdAck(), str(incident.id), f"You acknowledge incident #{incident.id}")
        self.call(CmdIncidents(), f"/note {incident.id} = restarting it", f"Noted on incident #{incident.id}.")
        self.call(CmdResolve(), f"{incident.id} = back up", f"Incident #{incident.id} is resolved.")
        text = self.call(CmdIncidents(), f"#{incident.id}", f"Incident #{incident.id} P1 resolved")
        for kind in ("opened", "acknowledged", "noted", "resolved"):
            self.assertIn(kind, text)
        self.assertIn("restarting it", text)
        self.call(CmdIncidents(), "/all", "Incidents (latest 20)")
        self.call(CmdIncidents(), "", "Open incidents: none.")

    def test_ack_and_resolve_errors(self):
        incident, _ = core.trigger("svc:y", "P2", "y", "heartbeat")
        self.call(CmdAck(), "", "Usage: @ack <id>")
        self.call(CmdAck(), "42", "There is no incident #42.")
        self.call(CmdAck(), "abc", "'abc' is not an incident id")
        self.call(CmdAck(), "\u00b9", "'\u00b9' is not an incident id")  # a digit to str.isdigit(), not to int()
        self.call(CmdResolve(), str(incident.id), f"Incident #{incident.id} is resolved.")
        self.call(CmdResolve(), str(incident.id), f"Incident #{incident.id} is already resolved.")
        self.call(CmdAck(), str(incident.id), f"Incident #{incident.id} is already resolved.")
        self.call(CmdIncidents(), "/note 999 = hm", "There is no incident #999.")
        self.call(CmdIncidents(), "/note 5", "Say which incident and what")

    def test_players_cannot_ack_resolve_escalate_or_silence(self):
        player = self.make_player()
        for command in (CmdAck, CmdResolve, CmdEscalate, CmdSilence):
            self.assertFalse(command().access(player, "cmd"), command.key)
        self.assertTrue(CmdIncidents().access(player, "cmd"))
        incident, _ = core.trigger("svc:z", "P2", "z", "heartbeat")
        self.call(CmdIncidents(), f"/note {incident.id} = sneaky", "You may not add notes to incidents.",
                  caller=player)
        self.assertEqual([e.kind for e in incident.events.all()], ["opened"])

    def test_silence_list_add_clear_and_errors(self):
        self.call(CmdSilence(), "", "No service is silenced.")
        self.call(CmdSilence(), "ollama 30m = upgrading", "ollama is silenced for 30 min: upgrading")
        self.call(CmdSilence(), "", "Silenced services:")
        self.call(CmdSilence(), "nosuch 30m = x", "There is no service called 'nosuch'.")
        self.call(CmdSilence(), "ollama forever = x", "'forever' is not a duration")
        self.call(CmdSilence(), "ollama 30m", "Say what, for how long and why.")
        self.call(CmdSilence(), "/clear ollama", "ollama is no longer silenced.")
        self.call(CmdSilence(), "/clear ollama", "ollama is not silenced.")
        self.assertEqual(Silence.objects.filter(ended_at__isnull=True).count(), 0)

    def test_status_shows_open_incidents_and_the_outbox(self):
        core.trigger("svc:w", "P0", "w is down", "heartbeat")
        text = self.call(CmdStatus(), "", "Timmy World status")
        self.assertIn("Incidents: 1 open", text)
        self.assertIn("#1 P0 L2", text)
        self.assertIn("Escalation: Gitea fleet/ops; 0 notification(s) pending", text)


class StatusWithoutGiteaTests(IncidentMixin, EvenniaCommandTest):
    gitea_configured = False

    def test_status_says_level_three_is_in_world_only(self):
        text = self.call(CmdStatus(), "", "Timmy World status")
        self.assertIn("Gitea not configured - level 3 is in-world only", text)
