"""
Self-healing on heartbeat transitions (once per transition to down, only
where `auto_recover` is set, a storm limit past which it escalates, never
destructive), and runs a crash cut short shown as interrupted after a start.
"""

import time
from unittest.mock import patch

from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTest

import world.recovery
from commands.recover import CmdRecover
from world.heartbeat.tracker import Transition
from world.heartbeat.transitions import service_transition
from world.incidents import core
from world.models import Incident, RecoveryRun, RecoveryStep
from world.recovery import auto

from .support.recovery import (RecoveryMixin, ScriptedCommands, ScriptedProbes, SpinMixin, pause, scripted_kit,
                               set_service_state, spin)

BACK = [("down", "connection refused"), ("up", "v0.9.0", {"models": ["llama3.2:3b"]})]
RESTART = {"restart_ollama": {"argv": ["/bin/true"], "timeout": 5}}


def ollama_check(auto_recover=True):
    return [{"name": "ollama", "kind": "ollama", "target": "http://127.0.0.1:9", "timeout": 1.0,
             "severity": "P1", "auto_recover": auto_recover}]


class AutoRecoveryTests(SpinMixin, RecoveryMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        self.recover_settings(HEALTH_CHECKS=ollama_check(), RECOVERY_COMMANDS=RESTART)
        self.commands = ScriptedCommands()
        self.kit = scripted_kit(ScriptedProbes(ollama=list(BACK)), self.commands)
        set_service_state("ollama", "down", "connection refused")
        self.incident, _ = core.trigger("heartbeat:ollama:down", "P1", "ollama is down", "heartbeat",
                                        source="heartbeat", service="ollama")

    def test_a_service_going_down_is_healed_once_by_itself(self):
        patcher = patch("world.recovery.engine.default_toolkit", return_value=self.kit)
        patcher.start()
        self.addCleanup(patcher.stop)
        auto.connect()
        self.addCleanup(service_transition.disconnect, dispatch_uid="recovery.auto")
        for new in ("down", "up"):
            service_transition.send(sender=None, transition=Transition("ollama", "up", new, "x", time.time()))
        spin(pause(0.05))
        run = RecoveryRun.objects.get()
        self.assertEqual((run.trigger, run.started_by, run.state), ("auto", "heartbeat", "succeeded"))
        self.assertEqual(self.commands.argvs, [["/bin/true"]])
        self.incident.refresh_from_db()
        self.assertEqual(self.incident.state, Incident.RESOLVED)
        self.assertTrue(any("started by heartbeat" in line for line in self.ops_lines), self.ops_lines)

    def test_only_services_that_ask_for_it(self):
        self.recover_settings(HEALTH_CHECKS=ollama_check(auto_recover=False))
        self.assertEqual(auto.consider("ollama", kit=self.kit), "off")
        self.assertEqual(auto.consider("disk", kit=self.kit), "off")
        self.assertEqual(RecoveryRun.objects.count(), 0)

    def test_past_the_storm_limit_it_escalates_instead(self):
        now = time.time()
        for minutes_ago in (50, 30, 10):
            RecoveryRun.objects.create(scenario="ollama", started_by="heartbeat", trigger="auto", state="failed",
                                       started_at=now - minutes_ago * 60)
        RecoveryRun.objects.create(scenario="ollama", started_by="heartbeat", trigger="auto", state="failed",
                                   started_at=now - 7200)  # outside the window
        self.assertEqual(auto.consider("ollama", now=now, kit=self.kit), "escalated")
        self.assertEqual(RecoveryRun.objects.count(), 4)
        self.assertEqual(self.commands.argvs, [])
        self.incident.refresh_from_db()
        self.assertEqual(self.incident.level, 2)
        self.assertTrue(any("storm limit reached (3 runs in 60 min)" in line for line in self.ops_lines))
        RecoveryRun.objects.filter(started_at__gte=now - 1200).delete()
        self.assertEqual(auto.consider("ollama", now=now, kit=self.kit), "started")

    def test_it_never_does_anything_destructive(self):
        self.recover_settings(RECOVERY_COMMANDS={"restart_ollama": {"argv": ["/bin/true"], "destructive": True}})
        self.assertEqual(auto.consider("ollama", kit=self.kit), "escalated")
        self.assertEqual(self.commands.argvs, [])
        self.assertTrue(any("would be destructive" in line for line in self.ops_lines))

    def test_a_running_playbook_is_not_started_twice(self):
        self.kit.probe.answers["ollama"] = [("down", "connection refused")]
        self.assertEqual(auto.consider("ollama", kit=self.kit), "started")
        self.assertEqual(auto.consider("ollama", kit=self.kit), "busy")
        self.kit.clock.pump([1] * 10)
        self.assertEqual(RecoveryRun.objects.get().state, "failed")


class InterruptedRunTests(RecoveryMixin, EvenniaCommandTest):
    def test_a_run_cut_short_shows_as_interrupted_after_a_start(self):
        run = RecoveryRun.objects.create(scenario="ollama", started_by="Operator", trigger="manual",
                                         started_at=time.time() - 30)
        RecoveryStep.objects.create(run=run, index=1, kind="probe", title="check", state="ok",
                                    started_at=run.started_at)
        finished = RecoveryRun.objects.create(scenario="gitea", started_by="Operator", trigger="manual",
                                              state="succeeded", started_at=time.time() - 60, finished_at=time.time())
        world.recovery.at_server_start()
        self.addCleanup(service_transition.disconnect, dispatch_uid="recovery.auto")
        run.refresh_from_db()
        self.assertEqual((run.state, run.summary), ("interrupted", "interrupted: the server stopped during the run"))
        self.assertEqual(RecoveryRun.objects.get(id=finished.id).state, "succeeded")
        text = self.call(CmdRecover(), "/history", "Run  Scenario")
        self.assertRegex(text, rf"#{run.id}\s+ollama\s+-\s+interrupted")
        self.call(CmdRecover(), f"/history {run.id}", f"Recovery #{run.id} 'ollama' interrupted")

    def test_a_malformed_command_is_named_in_the_log_at_start(self):
        self.recover_settings(RECOVERY_COMMANDS={"restart_gitea": {"argv": "systemctl restart gitea"}})
        with patch("evennia.utils.logger.log_err") as log_err:
            world.recovery.at_server_start()
        self.addCleanup(service_transition.disconnect, dispatch_uid="recovery.auto")
        self.assertIn("RECOVERY_COMMANDS['restart_gitea']", log_err.call_args.args[0])
