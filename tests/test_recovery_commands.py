"""
@recover and @confirm as operators and agents see them: the list, dry runs,
bad input, who may run what, confirmations, one run at a time, the history.
Nothing real runs here: probes and commands are scripted, time is a Clock.
"""

from unittest.mock import patch

from evennia.utils.test_resources import EvenniaCommandTest

from commands.recover import CmdConfirm, CmdRecover
from world.incidents import core
from world.models import Incident, RecoveryRun, RecoveryStep
from world.recovery import confirm

from .support.recovery import (AgentsMixin, RecoveryMixin, ScriptedCommands, ScriptedProbes, scripted_kit,
                               set_service_state)

SCENARIOS = "Scenarios: agent, ollama, gitea, orphan, infra."
HOSTILE = ["nosuch", "../x", "a;rm -rf /", "$(id)", "-rf", "--help", "x" * 10_000, "ollama ../x",
           "agent a;rm", "agent $(id)", "agent -rf", "agent " + "y" * 10_000, "ollama now please"]
OLLAMA_BACK = [("down", "connection refused"), ("up", "v0.9.0, 1 model(s)", {"models": ["llama3.2:3b"]})]
RESTART_OLLAMA = {"restart_ollama": {"argv": ["/bin/true", "ollama"], "timeout": 5}}


class RecoverCommandTests(RecoveryMixin, EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.commands = ScriptedCommands()
        self.probes = ScriptedProbes(ollama=list(OLLAMA_BACK))
        self.kit = scripted_kit(self.probes, self.commands)
        patcher = patch("world.recovery.engine.default_toolkit", return_value=self.kit)
        patcher.start()
        self.addCleanup(patcher.stop)

    def helper(self):
        self.char2.permissions.clear()
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Helper")
        return self.char2

    def nothing_ran(self):
        self.assertEqual(self.commands.argvs, [])
        self.assertEqual(RecoveryRun.objects.count(), 0)

    def test_dry_run_shows_every_step_and_changes_nothing(self):
        text = self.call(CmdRecover(), "/dry ollama", "Dry run of 'ollama' (nothing is changed)")
        for words in ("1. check ollama before", "2. run restart_ollama: not configured", "3. check ollama after",
                      "4. check the agents' model is present on ollama (/api/tags): llama3.2:3b",
                      "5. switch the agents back", "6. note the result", "7. if a step failed: escalate",
                      "Not destructive now"):
            self.assertIn(words, text)
        self.recover_settings(RECOVERY_COMMANDS=RESTART_OLLAMA)
        set_service_state("ollama", "up")
        text = self.call(CmdRecover(), "/dry ollama", "Dry run")
        self.assertIn("run restart_ollama: /bin/true ollama (timeout 5 s)", text)
        self.assertIn("Destructive now (an Admin, then @confirm <code> within the time limit): ollama is up", text)
        self.call(CmdRecover(), "/dry infra", "Dry run of 'infra'")
        self.assertEqual(self.probes.calls, [])
        self.nothing_ran()

    def test_bad_input_is_rejected_with_the_scenarios_and_nothing_runs(self):
        for text in HOSTILE:
            for prefix in ("", "/dry "):
                output = self.call(CmdRecover(), prefix + text, None)
                self.assertIn(SCENARIOS, output, text[:30])
                self.assertLess(len(output), 400)
        self.call(CmdRecover(), "/dry", "Say which scenario. " + SCENARIOS)
        self.call(CmdRecover(), "/nuke ollama", "Unknown switch '/nuke'")
        self.call(CmdRecover(), "/history ../1", "A run is a number")
        self.call(CmdRecover(), "agent Nobody", "There is no agent called 'Nobody'. Agents: none yet.")
        self.call(CmdRecover(), "gitea", "Gitea is not configured here")
        self.nothing_ran()

    def test_players_cannot_recover_or_confirm(self):
        self.char2.permissions.clear()
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Player")
        self.assertFalse(CmdRecover().access(self.char2, "cmd"))
        self.assertFalse(CmdConfirm().access(self.char2, "cmd"))
        self.assertTrue(CmdRecover().access(self.helper(), "cmd"))

    def test_a_run_streams_its_steps_and_resolves_the_incident(self):
        self.recover_settings(RECOVERY_COMMANDS=RESTART_OLLAMA)
        incident, _ = core.trigger("heartbeat:ollama:down", "P1", "ollama is down", "heartbeat",
                                   source="heartbeat", service="ollama")
        text = self.call(CmdRecover(), "ollama", "Recovery 'ollama' #1 started")
        for words in ("[1/7] check ollama before", "found ollama is down (connection refused)",
                      "[2/7] run restart_ollama: /bin/true ollama", "ok restart_ollama: exit 0",
                      "ok ollama is up", "ok model(s) present: llama3.2:3b", "agents: none",
                      f"noted on incident #{incident.id} and resolved it", "not needed: every check passed",
                      f"Recovery #1 succeeded (incident #{incident.id})."):
            self.assertIn(words, text)
        self.assertEqual(self.commands.argvs, [["/bin/true", "ollama"]])
        incident.refresh_from_db()
        self.assertEqual(incident.state, Incident.RESOLVED)
        self.assertIn("Recovery 'ollama' #1 by Char succeeded", incident.events.get(kind="noted").text)
        run = RecoveryRun.objects.get()
        self.assertEqual((run.state, run.started_by, run.trigger, run.incident_id), ("succeeded", "Char", "manual",
                                                                                     incident.id))
        self.assertTrue(any("[recover]" in line and "succeeded" in line for line in self.ops_lines))

    def test_an_unconfigured_restart_fails_and_escalates(self):
        incident, _ = core.trigger("heartbeat:ollama:down", "P1", "ollama is down", "heartbeat",
                                   source="heartbeat", service="ollama")
        text = self.call(CmdRecover(), "ollama", "Recovery 'ollama' #1 started", caller=self.helper())
        self.assertIn("FAILED restart_ollama is not configured (RECOVERY_COMMANDS['restart_ollama'])", text)
        self.assertIn(f"incident #{incident.id} escalated to level 2", text)
        self.assertIn("Recovery #1 failed at the command step", text)
        self.assertEqual(self.commands.argvs, [])
        incident.refresh_from_db()
        self.assertEqual((incident.level, incident.state), (2, Incident.OPEN))
        states = list(RecoveryStep.objects.values_list("state", flat=True))
        self.assertEqual(states, ["found", "failed", "skipped", "skipped", "skipped", "ok", "ok"])

    def test_destructive_runs_need_an_admin_and_their_own_fresh_code(self):
        self.recover_settings(RECOVERY_COMMANDS=RESTART_OLLAMA)
        set_service_state("ollama", "up")
        self.call(CmdRecover(), "ollama", "Refused: only an Admin may run 'ollama' now: ollama is up",
                  caller=self.helper())
        text = self.call(CmdRecover(), "ollama", "This is destructive now: ollama is up")
        code = text.split("@confirm ")[1].split()[0]
        other = self.helper()
        other.account.permissions.add("Admin")
        for attempt, caller in (("ZZZZZZ", self.char1), (code, other), ("$(id)", self.char1)):
            self.call(CmdConfirm(), attempt, None, caller=caller)
        self.nothing_ran()
        with patch("world.recovery.confirm.time.time", return_value=confirm._PENDING[code].expires_at + 1):
            self.call(CmdConfirm(), code, "That confirmation code has expired")
        self.call(CmdConfirm(), code, "No recovery is waiting for your confirmation")
        self.nothing_ran()
        code = self.call(CmdRecover(), "ollama", "This is destructive").split("@confirm ")[1].split()[0]
        self.call(CmdConfirm(), code, "Recovery 'ollama' #1 started")
        self.assertEqual(self.commands.argvs, [["/bin/true", "ollama"]])

    def test_one_run_per_scenario_at_a_time(self):
        self.recover_settings(RECOVERY_COMMANDS=RESTART_OLLAMA)
        self.probes.answers["ollama"] = [("down", "connection refused")]
        self.call(CmdRecover(), "ollama", "Recovery 'ollama' #1 started")
        self.call(CmdRecover(), "ollama", "A 'ollama' recovery is already running (run #1)")
        self.call(CmdRecover(), "", "Recovery playbooks")
        self.kit.clock.pump([1] * 10)  # the wait gives up at its deadline
        self.assertEqual(RecoveryRun.objects.get(id=1).state, "failed")
        self.call(CmdRecover(), "ollama", "Recovery 'ollama' #2 started")

    def test_history_lists_runs_and_shows_each_step(self):
        self.recover_settings(RECOVERY_COMMANDS=RESTART_OLLAMA)
        self.call(CmdRecover(), "/history", "No recovery has run yet.")
        self.call(CmdRecover(), "ollama", "Recovery 'ollama' #1 started")
        text = self.call(CmdRecover(), "/history", "Run  Scenario")
        self.assertRegex(text, r"#1\s+ollama\s+-\s+succeeded\s+\d+s\s+\d+s\s+Char \(manual\)")
        text = self.call(CmdRecover(), "/history 1", "Recovery #1 'ollama'")
        self.assertIn("argv: /bin/true ollama", text)
        self.assertIn("exit 0, 5 bytes of output, sha256 0000000000000000...", text)
        self.call(CmdRecover(), "/history 99", "There is no recovery run #99.")

    def test_infra_shows_the_plan_in_dry_run_and_run(self):
        text = self.call(CmdRecover(), "/dry infra", "Dry run of 'infra'")
        self.assertIn("find the latest verified backup", text)
        with patch("world.recovery.infrasteps.find_backup", return_value=(None, "there are no backups")):
            text = self.call(CmdRecover(), "infra", "Recovery 'infra' #1 started")
        self.assertIn("there are no backups: make one with", text)
        self.assertIn("3. .venv/bin/python bin/timmy restore latest", text)
        self.assertEqual(self.commands.argvs, [])
        self.call(CmdRecover(), "infra ../../x", "'../../x' is not a valid backup id")
        self.call(CmdRecover(), "infra 20261124", "'20261124' is not a backup id")


class RecoverAgentCommandTests(RecoveryMixin, AgentsMixin, EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.commands = ScriptedCommands()
        self.kit = scripted_kit(ScriptedProbes(), self.commands)
        patcher = patch("world.recovery.engine.default_toolkit", return_value=self.kit)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_the_list_says_which_scenarios_apply_now(self):
        set_service_state("ollama", "down", "connection refused")
        self.bring_online("Allegro", "Allegro-Primus", "Ezra", "Bezalel")
        text = self.call(CmdRecover(), "", "Recovery playbooks")
        self.assertRegex(text, r"agent\s+applies failed: Timmy")
        self.assertRegex(text, r"ollama\s+applies ollama is down")
        self.assertRegex(text, r"orphan\s+applies Allegro online, ollama down")
        self.assertRegex(text, r"infra\s+- +a plan for rebuilding")
        text = self.call(CmdRecover(), "/dry agent", "Dry run of 'agent' Timmy")
        self.assertIn("2. restart Timmy: it is offline, so restart its process from agents/run/", text)
        self.assertEqual(RecoveryRun.objects.count(), 0)

    def test_an_agent_runs_a_non_destructive_playbook_as_itself(self):
        timmy = self.agent("Timmy")
        self.bring_online("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")
        self.agent("Allegro-Primus").last_seen = 1.0  # silent for ages
        self.call(CmdRecover(), "agent", "Recovery 'agent' Allegro-Primus #1 started", caller=timmy)
        self.assertIn(("Allegro-Primus", "restart"), self.told)
        run = RecoveryRun.objects.get()
        self.assertEqual((run.started_by, run.trigger, run.target), ("Timmy", "agent", "Allegro-Primus"))
        self.kit.clock.pump([1] * 10)  # it does not come back here: the waits give up
        self.assertEqual(RecoveryRun.objects.get().state, "failed")
        self.call(CmdRecover(), "agent Timmy", "Refused: only an Admin may run 'agent' now: Timmy is online",
                  caller=timmy)
