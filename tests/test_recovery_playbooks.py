"""
Each scenario's playbook end to end on the real reactor: restart commands
that are real processes bringing fake Ollama and Gitea servers back on
loopback, agents whose process is really signalled, the orphan re-linked,
the rebuild plan, and the incidents noted, resolved or escalated.

The database tests spin the reactor themselves (support.recovery.spin);
everything here takes a few seconds at most.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from unittest.mock import patch

from evennia.utils.test_resources import EvenniaTest
from twisted.internet import reactor

from world.backup.store import BackupEntry
from world.incidents import core, outbox
from world.models import Incident, OutboxMessage, RecoveryRun
from world.plaintext import strip_markup
from world.recovery import engine, playbooks

from .support.livesupport import closed_port
from .support.recovery import (AgentsMixin, RecoveryMixin, ScriptedCommands, SpinMixin,
                               kill_pidfile, real_kit, restart_entry, scripted_kit, set_service_state, spin)


def run(scenario, target=None, kit=None, by="Operator"):
    """Start a playbook and spin the reactor until it is done; return (record, lines told)."""
    told = []
    deferred = engine.start(playbooks.build(scenario, target), by, notify=told.append, kit=kit or real_kit())
    record = spin(deferred, timeout=40)
    return record, strip_markup("\n".join(told))


def steps_of(record):
    return {step.index: step for step in record.steps.all()}


class ServicePlaybookTests(SpinMixin, RecoveryMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pidfile = os.path.join(self.tmp, "service.pid")
        self.addCleanup(kill_pidfile, self.pidfile)

    def ollama_settings(self, **restart_options):
        checks = [{"name": "ollama", "kind": "ollama", "target": self.url, "timeout": 2.0, "severity": "P1"}]
        entry = restart_entry("ollama", self.port, self.pidfile, **restart_options)
        self.recover_settings(HEALTH_CHECKS=checks, OLLAMA_HOST=self.url, RECOVERY_COMMANDS={"restart_ollama": entry})

    def down_incident(self, service, severity="P1"):
        incident, _ = core.trigger(f"heartbeat:{service}:down", severity, f"{service} is down", "heartbeat",
                                   source="heartbeat", service=service)
        return incident

    def test_ollama_is_restarted_checked_and_its_incident_resolved(self):
        self.ollama_settings()
        incident = self.down_incident("ollama")
        record, told = run("ollama")
        self.assertEqual(record.state, "succeeded", told)
        steps = steps_of(record)
        self.assertEqual(steps[1].text, "ollama is down (connection refused)")
        restart = steps[2]
        self.assertEqual((restart.state, restart.exit_code), ("ok", 0))
        self.assertEqual(restart.argv[:2], [sys.executable, restart_entry("ollama", 0, "")["argv"][1]])
        self.assertIn(f"ollama is back on port {self.port}", restart.output_excerpt)
        self.assertRegex(restart.output_digest, r"^[0-9a-f]{64}$")
        self.assertRegex(steps[3].text, r"^ollama is up \(v0\.9\.0, 1 model\(s\): llama3\.2:3b\) after [\d.]+ s$")
        self.assertEqual(steps[4].text, "model(s) present: llama3.2:3b")
        incident.refresh_from_db()
        self.assertEqual(incident.state, Incident.RESOLVED)
        self.assertEqual(record.incident_id, incident.id)
        self.assertIn(f"Recovery #{record.id} succeeded (incident #{incident.id}).", told)
        with urllib.request.urlopen(self.url + "/api/version", timeout=2) as answer:
            self.assertEqual(json.load(answer)["version"], "0.9.0")

    def test_a_missing_model_fails_the_check_after_and_escalates(self):
        self.ollama_settings(models="tinyllama:1b")
        incident = self.down_incident("ollama")
        record, told = run("ollama")
        self.assertEqual(record.state, "failed")
        self.assertIn("FAILED missing model(s): llama3.2:3b; pull them on the Ollama host", told)
        self.assertIn(f"incident #{incident.id} escalated to level 2", told)
        incident.refresh_from_db()
        self.assertEqual((incident.state, incident.level), (Incident.OPEN, 2))
        self.assertIn("failed", incident.events.get(kind="noted").text)

    def test_a_failing_restart_command_stops_the_playbook(self):
        self.ollama_settings(fail_with=3, print_lines=2)
        record, told = run("ollama")
        self.assertEqual(record.state, "failed")
        self.assertIn("FAILED restart_ollama: exit 3", told)
        self.assertIn("> restart of ollama failed on purpose", told)
        self.assertEqual([step.state for step in record.steps.all()],
                         ["found", "failed", "skipped", "skipped", "skipped", "ok", "ok"])
        self.assertTrue(Incident.objects.filter(fingerprint="recovery:ollama:failed", level=2).exists())

    def test_gitea_is_restarted_and_the_waiting_escalations_are_delivered(self):
        token, repo = "recovery-token", "fleet/ops"
        checks = [{"name": "gitea", "kind": "http", "target": f"{self.url}/api/v1/version", "timeout": 2.0}]
        entry = restart_entry("gitea", self.port, self.pidfile, token=token, repo=repo)
        self.recover_settings(HEALTH_CHECKS=checks, GITEA_URL=self.url, GITEA_TOKEN=token, GITEA_REPO=repo,
                              GITEA_TIMEOUT=2, RECOVERY_COMMANDS={"restart_gitea": entry})
        incident = self.down_incident("gitea", "P2")
        core.escalate(incident, time.time())
        core.escalate(incident, time.time())
        self.assertEqual(outbox.counts()["pending"], 1)
        record, told = run("gitea")
        self.assertEqual(record.state, "succeeded", told)
        self.assertIn("outbox flushed: 1 pending before, 0 now, 0 dead-lettered", told)
        messages = list(OutboxMessage.objects.order_by("id").values_list("kind", "state"))
        self.assertEqual(messages[0], ("create", OutboxMessage.SENT))
        self.assertEqual(messages[1:], [("comment", "pending"), ("close", "pending")])  # the note, the resolve
        request = urllib.request.Request(f"{self.url}/api/v1/repos/{repo}/issues?state=all",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=2) as answer:
            issues = json.load(answer)
        self.assertEqual(len(issues), 1)
        self.assertIn(outbox.marker(incident), issues[0]["body"])

    def test_the_rebuild_plan_names_the_latest_verified_backup(self):
        made = time.time() - 3600
        entries = [BackupEntry("20261124T033000Z", "/b/1", {"created_unix": made, "files": []}, verify={"ok": True}),
                   BackupEntry("20261125T033000Z", "/b/2", {"created_unix": made + 60, "files": []})]
        with patch("world.backup.store.valid_backups", return_value=entries):
            record, told = run("infra")
        self.assertEqual(record.state, "succeeded")
        self.assertIn("backup 20261124T033000Z (1h old, verified)", told)
        self.assertIn("3. .venv/bin/python bin/timmy restore 20261124T033000Z", told)
        self.assertIn("1. make stop", told)


class AgentPlaybookTests(SpinMixin, RecoveryMixin, AgentsMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        self.bring_online("Allegro", "Allegro-Primus", "Ezra", "Bezalel")
        self.logins = {"Timmy": 0}

    def comes_back_when(self, ready):
        """Timmy's runtime logs in again once `ready()` says so (as the supervisor would make it).

        The first look (the restart step noting the sessions before) always finds none.
        """
        looks = []

        def sessions(agent):
            looks.append(agent.key)
            if agent.key == "Timmy" and len(looks) > 1 and ready():
                self.online_agents.add("Timmy")
                agent.last_seen = time.time()
                return {77}
            return set()

        patcher = patch("world.recovery.agentops.puppet_sessions", side_effect=sessions)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_an_offline_agent_process_is_stopped_for_its_supervisor_to_restart(self):
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "agents.process", "Timmy"])
        self.addCleanup(process.kill)
        pidfile = os.path.join(self.tmp, "timmy.pid")
        with open(pidfile, "w") as handle:
            handle.write(str(process.pid))
        incident, _ = core.trigger("heartbeat:agents:down", "P2", "agents silent", "heartbeat",
                                   source="heartbeat", service="agents")

        def supervisor_restarted_it():  # it removes the pid file of a process that ended, then starts another
            if process.poll() is None:
                return False
            if os.path.exists(pidfile):
                os.remove(pidfile)
            return True

        self.comes_back_when(supervisor_restarted_it)
        record, told = run("agent", "Timmy")
        self.assertEqual(record.state, "succeeded", told)
        self.assertEqual(process.returncode, -15)  # SIGTERM
        self.assertIn(f"stopped Timmy's process (pid {process.pid}); its supervisor starts it again", told)
        self.assertIn("Timmy logged in again (session 77), puppets Timmy and reports", told)
        incident.refresh_from_db()
        self.assertEqual(incident.state, Incident.RESOLVED)

    def test_a_pid_that_is_not_the_agents_process_is_never_signalled(self):
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        self.addCleanup(process.kill)
        with open(os.path.join(self.tmp, "timmy.pid"), "w") as handle:
            handle.write(str(process.pid))
        start = {"argv": [sys.executable, "-c", "print('Agents started (supervisor pid 4242)')"], "timeout": 5}
        self.recover_settings(RECOVERY_COMMANDS={"start_agents": start})
        self.comes_back_when(lambda: True)
        record, told = run("agent", "Timmy")
        self.assertEqual(record.state, "succeeded", told)
        self.assertIsNone(process.poll())
        self.assertIn("start_agents: exit 0", told)
        self.assertEqual(steps_of(record)[2].argv, start["argv"])

    def test_a_configured_restart_command_gets_the_validated_agent_name(self):
        argv = [sys.executable, "-c", "import sys; print('restarting unit timmy-agent@' + sys.argv[1])",
                "{target}"]
        self.recover_settings(RECOVERY_COMMANDS={"restart_agent": {"argv": argv, "timeout": 5}})
        self.comes_back_when(lambda: True)
        record, told = run("agent", "Timmy")
        self.assertEqual(record.state, "succeeded", told)
        restart = steps_of(record)[2]
        self.assertEqual(restart.argv[-1], "Timmy")
        self.assertIn("restarting unit timmy-agent@Timmy", restart.output_excerpt)

    def test_a_dead_connection_that_looks_online_is_closed_and_the_agent_restarted(self):
        self.recover_settings(RECOVERY_AGENT_RESTART_GRACE=0.5, RECOVERY_COMMANDS={"start_agents": {
            "argv": [sys.executable, "-c", "print('Agents started (supervisor pid 4242)')"], "timeout": 5}})
        self.bring_online("Timmy")
        started = []

        def sessions(agent):
            if started:  # the new runtime logged in and reports
                agent.last_seen = time.time()
                return {5, 77}
            return {5}

        sessions = patch("world.recovery.agentops.puppet_sessions", side_effect=sessions)
        closed = patch("world.recovery.agentops.close_sessions", side_effect=lambda agent, ids=None, reason="": (
            started.append(1) if ids is None else None) or 1)
        with sessions, closed as closing:
            record, told = run("agent", "Timmy")
        self.assertEqual(record.state, "succeeded", told)
        self.assertEqual(self.told, [("Timmy", "restart")])
        self.assertRegex(steps_of(record)[2].text, r"^its runtime did not restart within 0.5 s \(a dead connection"
                                                   r"\?\), so its 1 session\(s\) were closed; start_agents: exit 0")
        self.assertIn("closed 1 stale session(s) of the old runtime", steps_of(record)[3].text)
        self.assertEqual(closing.call_args_list[-1].args[1], {5})

    def test_an_agent_that_never_comes_back_is_escalated(self):
        kit = scripted_kit(commands=ScriptedCommands())
        deferred = engine.start(playbooks.build("agent", "Timmy"), "Operator", kit=kit)
        kit.clock.pump([1] * 10)
        record = spin(deferred, timeout=5)
        self.assertEqual(record.state, "failed")
        self.assertRegex(steps_of(record)[3].text, r"^not back after \d+ s: Timmy: offline, never seen$")
        self.assertTrue(Incident.objects.filter(fingerprint="recovery:agent:failed", level=2).exists())

    def test_the_orphan_works_alone_until_its_parent_is_back_then_is_relinked(self):
        self.online_agents.discard("Allegro")
        set_service_state("ollama", "up")
        reactor.callLater(0.5, self.bring_online, "Allegro")
        record, told = run("orphan")
        self.assertEqual(record.state, "succeeded", told)
        self.assertEqual(self.told, [("Allegro-Primus", "autonomy"), ("Allegro-Primus", "relink")])
        self.assertRegex(told, r"Allegro online, ollama up \([\d.]+ s\)")

    def test_the_orphan_left_alone_stays_in_autonomy_and_is_escalated(self):
        self.online_agents.discard("Allegro")
        kit = scripted_kit()
        deferred = engine.start(playbooks.build("orphan"), "Operator", kit=kit)
        kit.clock.pump([1] * 10)
        record = spin(deferred, timeout=5)
        self.assertEqual(record.state, "failed")
        self.assertEqual(self.told, [("Allegro-Primus", "autonomy")])
        self.assertIn("still orphaned", steps_of(record)[3].text)
        self.assertEqual(steps_of(record)[4].state, "skipped")
        self.assertTrue(Incident.objects.filter(service="agents", level=2).exists())
        self.assertEqual(RecoveryRun.objects.get().incident.service, "agents")
