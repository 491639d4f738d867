"""
Crash consistency: `kill -9` of the Server in the middle of a backup, of an
escalation's delivery to Gitea and of a recovery playbook; after the
operator starts it again nothing is half-done.

One live world for the three crashes (a temporary copy of the game
directory on free ports, started with `bin/timmy run`). Each operation is
caught midway by real slowness, not by a hook: the backup copies a large
data folder (hundreds of files, each written and fsynced), the fake Gitea
files the issue and never answers, and the restart command of the playbook
sleeps. The crash is SIGKILL to the Server process alone (the Portal stays
up, as after an OOM kill); the restart is `bin/timmy run` (`make run`), which starts a new
Server through the running Portal.

Two small classes check the same without a world: the issue search a retry
relies on tells incident 5's issue from incident 50's, and a server start
closes the step a crash cut off, not only its run.
"""

import importlib.machinery
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from unittest import TestCase

from django.test import TestCase as DatabaseTestCase

from world.incidents import gitea as gitea_api
from world.incidents.gitea import GiteaClient
from world.models import RecoveryRun, RecoveryStep
from world.recovery import records, render
from world.recovery.steps import StepOutcome

from .support.crash import HangingGitea, kill_server, restart_server
from .support.procs import process_state, processes_with
from .support.fake_gitea import FakeGitea
from .support.fake_http import FakeHTTPService, Route
from .support.liveworld import LiveWorld, copy_game_dir
from .support.telnet import TelnetClient

LOOK = r"Exits:[^\n]*\n"
NOTES_DIR = os.path.join("agents", "notes")
NOTES = 800  # files in the included data folder: each is written and fsynced, so the copy takes a while
SLEEPER = "timmy-crash-drill-sleeper"
OLLAMA_ROUTES = {
    "/api/version": Route(200, {"version": "0.5.7"}),
    "/api/tags": Route(200, {"models": [{"name": "llama3.2:3b"}]}),
}
BACKUP_ID = r"\d{8}T\d{6}Z(?:-\d+)?"


def wire(game_dir, gitea):
    """The copy's secret settings: Gitea, a quick P0 climb, a slow restart command, a data folder."""
    sleeper = f"import time; time.sleep(30)  # {SLEEPER}"
    settings = {
        "SECRET_KEY": secrets.token_urlsafe(40),
        "GITEA_TOKEN": gitea.token,
        "GITEA_TIMEOUT": 60,  # the hanging create is still waiting when the server dies
        "INCIDENT_ESCALATE_AFTER": {"P0": 1, "P1": 3600, "P2": 3600},
        "RECOVERY_COMMANDS": {"restart_ollama": {"argv": [sys.executable, "-c", sleeper], "timeout": 60}},
        "BACKUP_INCLUDE": ["server/conf", "world/regions.toml", "agents/personas.toml", NOTES_DIR],
    }
    text = "".join(f"{name} = {value!r}\n" for name, value in settings.items())
    with open(os.path.join(game_dir, "server", "conf", "secret_settings.py"), "w") as handle:
        handle.write(text)


def write_notes(game_dir, count):
    """A data folder with `count` small files (the agents' runbook notes)."""
    folder = os.path.join(game_dir, NOTES_DIR)
    os.makedirs(folder, exist_ok=True)
    for number in range(count):
        with open(os.path.join(folder, f"note-{number:04d}.md"), "w") as handle:
            handle.write(f"# Runbook note {number}\n\n" + "Check the relay, then the forge.\n" * 8)


def backup_folders(world):
    """(finished backup ids, partial folder names) in the world's backup folder."""
    folder = os.path.join(world.game_dir, "backups")
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return ([name for name in names if re.fullmatch(BACKUP_ID, name)],
            [name for name in names if name.startswith(".partial-")])


class TestCrashConsistencyLive(TestCase):
    """Three crashes in one world, each followed by the operator's restart."""

    expected_seconds = 35  # roughly; the parallel runner starts the slowest classes first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gitea = HangingGitea().start()
        cls.ollama = FakeHTTPService(OLLAMA_ROUTES).start()
        game_dir = copy_game_dir()
        wire(game_dir, cls.gitea)
        cls.world = LiveWorld(game_dir=game_dir, extra_env={
            "OLLAMA_HOST": cls.ollama.url, "GITEA_URL": cls.gitea.url, "GITEA_REPO": cls.gitea.repo,
        })
        cls.client = None
        try:
            cls.world.start()
            cls.login()
        except Exception:
            cls.world.cleanup()
            cls.stop_fakes()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.client:
            cls.client.close()
        cls.end_sleepers()
        strays = cls.world.stop()
        cls.world.cleanup()
        cls.stop_fakes()
        super().tearDownClass()
        assert not strays, f"processes left after stop: {strays}"

    @classmethod
    def stop_fakes(cls):
        cls.gitea.stop()
        cls.ollama.stop()

    @classmethod
    def end_sleepers(cls):
        """End the restart commands a crash left running (by pid: they are this test's)."""
        for pid in processes_with(SLEEPER):
            os.kill(pid, signal.SIGKILL)

    @classmethod
    def login(cls):
        cls.client = TelnetClient("127.0.0.1", cls.world.telnet_port, timeout=20)
        cls.client.login(cls.world.username, cls.world.password, LOOK)

    def crash(self):
        """kill -9 the Server; return its pid."""
        self.client.close()
        return kill_server(self.world)

    def restart(self, dead_pid):
        """Start the Server again through the Portal and log in anew."""
        restart_server(self.world, dead_pid)
        self.login()

    def until(self, command, pattern, timeout=30):
        """Repeat `command` until its answer matches `pattern`; return the match."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self.client.send(command)
            text = self.client.drain(quiet=0.5)
            match = re.search(pattern, text)
            if match:
                return match
        self.fail(f"{pattern!r} not seen after {command!r}:\n{text[-2000:]}\n{self.world.log_tail()}")

    def backup_in_game(self):
        """`@backup` and wait until it is done and verified; return its id."""
        done = self.client.command("@backup", rf"Backup ({BACKUP_ID}) done:[^\n]*\n", timeout=60)
        self.assertIn("verified.", done)
        return re.search(rf"Backup ({BACKUP_ID}) done", done).group(1)

    def test_1_a_backup_cut_off_by_a_crash_leaves_nothing_under_a_final_name(self):
        previous = self.backup_in_game()
        write_notes(self.world.game_dir, NOTES)
        self.client.send("@backup")
        caught = self.world.wait_for(lambda: backup_folders(self.world)[1], timeout=30, interval=0.005)
        self.assertTrue(caught, f"the backup never started:\n{self.world.log_tail()}")
        dead = self.crash()
        finished, partial = backup_folders(self.world)
        self.assertEqual(finished, [previous], "the backup finished before the crash: make it slower")
        self.assertEqual(len(partial), 1)

        self.restart(dead)
        self.assertEqual(backup_folders(self.world), ([previous], partial))  # named partial, left alone
        listed = json.loads(self.world.timmy("list", "--json").stdout)
        self.assertEqual([(entry["id"], entry["valid"]) for entry in listed], [(previous, True)])
        verified = self.client.command("@backup/verify latest", rf"Backup {BACKUP_ID} (verified|FAILED)[^\n]*\n")
        self.assertIn(f"Backup {previous} verified", verified)

        fresh = self.backup_in_game()  # the next backup removes what the killed one left
        self.assertEqual(backup_folders(self.world), (sorted([previous, fresh]), []))

    def test_2_an_escalation_cut_off_by_a_crash_files_one_gitea_issue(self):
        self.gitea.hang_creates.set()
        opened = self.client.command("@escalate P0 relay-crash drill: the message relay is on fire",
                                     r"Incident #\d+ opened[^\n]*\n")
        incident = re.search(r"Incident #(\d+) opened", opened).group(1)
        self.assertTrue(self.gitea.created.wait(30), f"the issue was never created:\n{self.world.log_tail()}")
        dead = self.crash()  # Gitea filed the issue; the server never heard back
        self.gitea.hang_creates.clear()
        self.gitea.release.set()
        before_restart = len(self.gitea.requests)

        self.restart(dead)
        linked = self.until(f"@incidents {incident}", r"Gitea issue: #(\d+)", timeout=40)
        marker = f"timmy-incident-{incident}"
        self.assertEqual(len(self.gitea.posts("/issues")), 1, self.gitea.requests)
        self.assertEqual([issue["number"] for issue in self.gitea.issues if marker in issue["body"]],
                         [int(linked.group(1))])
        after = self.gitea.requests_since(before_restart)
        self.assertIn(("GET", f"/api/v1/repos/{self.gitea.repo}/issues"), after)  # it looked before filing

        self.client.command(f"@resolve {incident} = the relay is back", rf"Incident #{incident} is resolved")
        closed = self.world.wait_for(lambda: self.gitea.issue(int(linked.group(1)))["state"] == "closed", timeout=30)
        self.assertTrue(closed, f"the issue was not closed:\n{self.world.log_tail()}")
        self.assertEqual(len(self.gitea.issues), 1)
        comments = self.gitea.issue(int(linked.group(1)))["comments"]
        self.assertEqual(len(comments), 1, comments)
        self.assertIn("the relay is back", comments[0])

    def test_3_a_playbook_cut_off_by_a_crash_shows_as_interrupted(self):
        self.client.send("@recover ollama")
        said = self.client.read_until(r"within 60 s\.|\[2/\d+\] run restart_ollama", timeout=30)
        if "@confirm" in said:  # the heartbeat sees Ollama up: restarting it is destructive
            code = re.search(r"@confirm ([A-Z0-9]{6})", said).group(1)
            said += self.client.command(f"@confirm {code}", r"\[2/\d+\] run restart_ollama", timeout=30)
        run_id = re.search(r"'ollama' #(\d+) started", said).group(1)
        sleepers = self.world.wait_for(lambda: processes_with(SLEEPER), timeout=20, interval=0.05)
        self.assertTrue(sleepers, f"the restart command never started:\n{self.world.log_tail()}")
        dead = self.crash()

        self.restart(dead)
        history = self.until("@recover/history", r"#(\d+)\s+ollama\s+-\s+(\w+)")
        self.assertEqual(history.groups(), (run_id, "interrupted"))
        detail = self.until(f"@recover/history {run_id}", r"summary: [^\n]*\n").string
        self.assertRegex(detail, r"Recovery #\d+ 'ollama' interrupted")
        self.assertRegex(detail, r"1\. (ok|found)[^\n]* probe: ")
        self.assertRegex(detail, r"2\. interrupted command: the server stopped during this step[^\n]*restart_ollama")
        self.assertNotRegex(detail, r"\b3\. ")  # nothing after the step it was cut off in
        self.assertIn("interrupted: the server stopped during the run", detail)
        again = self.client.command("@recover/dry ollama", r"Dry run of 'ollama'[^\n]*\n")
        self.assertNotIn("already running", again)


class TestIssueSearchAfterACrash(TestCase):
    """The retry after a crash finds the incident's own issue, never another's."""

    def setUp(self):
        self.gitea = FakeGitea().start()
        self.addCleanup(self.gitea.stop)
        self.client = GiteaClient(self.gitea.url, self.gitea.token, self.gitea.repo, timeout=5)

    def file(self, incident_id):
        """Send a create for `incident_id` as the outbox does; return the issue number."""
        request = {"kind": "create", "marker": f"timmy-incident-{incident_id}", "title": f"incident {incident_id}",
                   "body": f"text\n\n<!-- timmy-incident-{incident_id} -->\n", "labels": []}
        return gitea_api.send(request, self.client)

    def test_incident_5_is_not_taken_for_incident_50(self):
        fifty = self.file(50)
        five = self.file(5)
        self.assertNotEqual(five, fifty)
        self.assertEqual(len(self.gitea.issues), 2)
        self.assertEqual(self.client.find_issue("timmy-incident-5"), five)

    def test_the_marker_line_is_found_after_an_edit_in_the_web_page(self):
        number = self.file(9)
        issue = self.gitea.issue(number)
        issue["body"] = issue["body"].replace("\n", "\r\n")  # browsers send CRLF
        self.assertEqual(self.client.find_issue("timmy-incident-9"), number)

    def test_a_retried_create_finds_the_issue_filed_before_the_crash(self):
        self.gitea.lose_create_response = True  # filed, but the answer is lost
        with self.assertRaises(gitea_api.GiteaError):
            self.file(7)
        self.gitea.lose_create_response = False
        self.assertEqual(self.file(7), 1)
        self.assertEqual(len(self.gitea.issues), 1)


class _Step:
    """A playbook step as records sees it."""

    def __init__(self, kind, title, informational=False):
        self.kind, self.title, self.informational = kind, title, informational


class TestInterruptedStepInTheAudit(DatabaseTestCase):
    """The audit of a run cut off by a crash says which step it was in."""

    def test_the_step_under_way_is_marked_interrupted_with_what_it_was_doing(self):
        run = records.start_run("ollama", "", "Operator", "manual", now=time.time() - 30)
        probe = _Step("probe", "check ollama before: probe it now", informational=True)
        first = records.begin_step(run, 1, probe, run.started_at)
        records.record_step(run, 1, probe, StepOutcome(True, "ollama is up"), run.started_at, run.started_at + 1,
                            first)
        records.begin_step(run, 2, _Step("command", "run restart_ollama: systemctl restart ollama"), time.time())
        self.assertEqual(list(run.steps.values_list("state", flat=True)), ["ok", "running"])

        self.assertEqual([r.id for r in records.mark_interrupted()], [run.id])  # what a server start does
        self.assertEqual(RecoveryRun.objects.get(id=run.id).state, "interrupted")
        self.assertEqual(list(run.steps.values_list("index", "state")), [(1, "ok"), (2, "interrupted")])
        cut = RecoveryStep.objects.get(run=run, index=2)
        self.assertIsNotNone(cut.finished_at)
        detail = render.run_detail(run.id)
        self.assertIn("2. |yinterrupted|n command: the server stopped during this step", detail)
        self.assertIn("restart_ollama", detail)
        self.assertEqual(records.mark_interrupted(), [])  # the next start finds nothing left running


def load_timmy_launcher():
    """bin/timmy as a module (it has no .py suffix)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "timmy")
    loader = importlib.machinery.SourceFileLoader("timmy_launcher", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


class TestStalePidFileAfterACrash(TestCase):
    """A killed Server stays a zombie until init reaps it; twistd would take it for a live one."""

    def setUp(self):
        self.launcher = load_timmy_launcher()
        self.folder = tempfile.mkdtemp(prefix="timmy-pids-")
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        self.pid_file = os.path.join(self.folder, "server.pid")
        self.launcher.PID_FILES = {"server": self.pid_file}

    def write_pid(self, text):
        with open(self.pid_file, "w") as handle:
            handle.write(text)

    def zombie(self):
        """A child that has exited and not been waited for."""
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        self.addCleanup(child.wait)
        deadline = time.monotonic() + 10
        while process_state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(process_state(child.pid), "Z")
        return child.pid

    def test_a_zombie_servers_pid_file_is_removed(self):
        self.write_pid(str(self.zombie()))
        self.launcher.remove_stale_pid_file("server")
        self.assertFalse(os.path.exists(self.pid_file))

    def test_a_live_servers_pid_file_stays(self):
        self.write_pid(str(os.getpid()))
        self.launcher.remove_stale_pid_file("server")
        self.assertTrue(os.path.exists(self.pid_file))

    def test_an_unreadable_pid_file_is_left_alone(self):
        self.write_pid("not a pid")
        self.launcher.remove_stale_pid_file("server")
        self.assertTrue(os.path.exists(self.pid_file))
        os.remove(self.pid_file)
        self.launcher.remove_stale_pid_file("server")  # no file: nothing to do, no error
        self.assertFalse(os.path.exists(self.pid_file))
