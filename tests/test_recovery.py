"""
Recovery's foundations: the command allowlist and its argument checks, the
request parser, confirmation codes, and the process runner against real
processes (a restart script that brings a fake service back, a command that
hangs and forks, non-zero exits, huge outputs).
"""

import hashlib
import os
import re
import sys
import tempfile
import time

from django.test import SimpleTestCase, override_settings
from twisted.internet import defer

from world.heartbeat.probes import probe
from world.recovery import config, confirm
from world.recovery.config import ArgumentRejected, RecoveryConfigError
from world.recovery.errors import ConfirmError, RecoveryError
from world.recovery.playbooks import parse_request
from world.recovery.process import run_command

from .support.checks import make_check
from .support.livesupport import closed_port
from .support.reactor import ReactorTestCase
from .support.recovery import HANG_SCRIPT, kill_pidfile, restart_entry

HOSTILE = ["../x", "a;rm -rf /", "$(id)", "-rf", "--force", "`id`", "a b", "x/y", ".hidden", "a|b", "a&b",
           "x" * 10_000, "", "a\nb", "é"]
SCENARIOS = "Scenarios: agent, ollama, gitea, orphan, infra."


class AllowlistTests(SimpleTestCase):
    def test_target_is_validated_before_it_is_substituted(self):
        spec = config.parse_command("restart_agent", {"argv": ["systemctl", "restart", "agent@{target}"]})
        self.assertEqual(spec.render("Allegro-Primus"), ["systemctl", "restart", "agent@Allegro-Primus"])
        for value in HOSTILE:
            with self.assertRaises(ArgumentRejected, msg=repr(value[:20])):
                spec.render(value)

    def test_only_target_placeholders_and_never_the_program(self):
        for argv in (["x", "{cmd}"], ["x", "{target!r}"], ["x", "{target:>9}"], ["{target}"], ["x", "{"]):
            with self.assertRaises(RecoveryConfigError, msg=argv):
                config.parse_command("bad", {"argv": argv})
        spec = config.parse_command("needs", {"argv": ["x", "{target}"]})
        with self.assertRaisesRegex(RecoveryConfigError, "needs a target"):
            spec.render(None)

    def test_malformed_entries_are_named(self):
        cases = [("str", "systemctl restart ollama"), ("empty", {"argv": []}), ("nonstr", {"argv": ["a", 1]}),
                 ("timeout", {"argv": ["a"], "timeout": 0}), ("huge", {"argv": ["a"], "timeout": 99999}),
                 ("extra", {"argv": ["a"], "shell": True})]
        for name, entry in cases:
            with self.assertRaisesRegex(RecoveryConfigError, rf"RECOVERY_COMMANDS\['{name}'\]"):
                config.parse_command(name, entry)

    def test_not_configured_is_none_and_the_cli_is_built_in(self):
        with override_settings(RECOVERY_COMMANDS={"restart_gitea": None}):
            self.assertIsNone(config.command("restart_ollama"))
            self.assertIsNone(config.command("restart_gitea"))
            start = config.command("start_agents")
        self.assertEqual(start.argv[1:], (os.path.join(os.path.dirname(start.argv[1]), "timmy"), "agents", "start"))
        with override_settings(RECOVERY_COMMANDS={"restart_ollama": {"argv": ["x"], "timeout": -1}}):
            self.assertEqual(len(config.check_all()), 1)


class RequestParsingTests(SimpleTestCase):
    def test_valid_requests(self):
        self.assertEqual(parse_request("ollama"), ("ollama", None))
        self.assertEqual(parse_request("AGENT Allegro-Primus"), ("agent", "Allegro-Primus"))
        self.assertEqual(parse_request("infra 20261124T051500Z"), ("infra", "20261124T051500Z"))

    def test_bad_input_is_rejected_with_the_scenarios(self):
        for text in ["", "nosuch", "../x", "a;rm -rf /", "$(id)", "-rf", "x" * 10_000, "ollama now please",
                     "ollama extra", "agent ../x", "agent a;rm", "agent $(id)", "agent -rf", "orphan --help",
                     "agent " + "x" * 10_000, "infra ../../etc"]:
            with self.assertRaises(RecoveryError, msg=text[:30]) as caught:
                parse_request(text)
            self.assertIn(SCENARIOS, str(caught.exception))
            self.assertLess(len(str(caught.exception)), 300)


class ConfirmationTests(SimpleTestCase):
    def setUp(self):
        confirm.clear()
        self.addCleanup(confirm.clear)

    def test_the_operator_confirms_once_within_the_time(self):
        pending = confirm.ask("account:1", "ollama", "", now=100.0)
        self.assertRegex(pending.code, r"^[A-Z2-9]{6}$")
        self.assertEqual(confirm.redeem(pending.code.lower(), "account:1", now=159.0).scenario, "ollama")
        with self.assertRaises(ConfirmError):
            confirm.redeem(pending.code, "account:1", now=159.5)  # used up

    def test_wrong_expired_and_other_operators_codes_do_nothing(self):
        pending = confirm.ask("account:1", "gitea", "", now=100.0)
        for code, who in (("ZZZZZZ", "account:1"), (pending.code, "account:2"), ("../x", "account:1"),
                          ("$(id)", "account:1"), ("x" * 10_000, "account:1")):
            with self.assertRaisesRegex(ConfirmError, "No recovery is waiting for your confirmation"):
                confirm.redeem(code, who, now=101.0)
        with self.assertRaisesRegex(ConfirmError, "expired"):
            confirm.redeem(pending.code, "account:1", now=161.0)
        with self.assertRaises(ConfirmError):
            confirm.redeem(pending.code, "account:1", now=101.0)

    def test_a_new_request_replaces_the_operators_old_code(self):
        first = confirm.ask("account:1", "gitea", "", now=100.0)
        confirm.ask("account:1", "ollama", "", now=101.0)
        with self.assertRaises(ConfirmError):
            confirm.redeem(first.code, "account:1", now=102.0)


def _gone(pid):
    """True if the process no longer runs (absent or a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _pids(output):
    return [int(pid) for pid in re.findall(r"child (\d+)", output)]


class ProcessTests(ReactorTestCase):
    @defer.inlineCallbacks
    def test_the_restart_script_brings_a_fake_service_back(self):
        port = closed_port()
        check = make_check("ollama", "ollama", target=f"http://127.0.0.1:{port}", timeout=2)
        before = yield probe(check)
        self.assertEqual(before.state, "down")
        pidfile = os.path.join(tempfile.mkdtemp(), "ollama.pid")
        self.addCleanup(kill_pidfile, pidfile)
        result = yield run_command(restart_entry("ollama", port, pidfile)["argv"], 15)
        self.assertEqual((result.exit_code, result.timed_out), (0, False), result.output)
        self.assertIn(f"ollama is back on port {port}", result.output)
        after = yield probe(check)
        self.assertEqual((after.state, after.details["models"]), ("up", ["llama3.2:3b"]))

    @defer.inlineCallbacks
    def test_a_hanging_command_that_forks_is_killed_with_its_whole_group(self):
        started = time.monotonic()
        result = yield run_command([sys.executable, HANG_SCRIPT], 1.0)
        self.assertTrue(result.timed_out)
        self.assertLess(time.monotonic() - started, 4)
        self.assertIn("killed (with its process group) after the 1 s timeout", result.outcome_text())
        pids = _pids(result.output)
        self.assertEqual(len(pids), 2, result.output)
        deadline = time.monotonic() + 2
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(all(_gone(pid) for pid in pids), pids)
        self.assertNotEqual(os.getpgid(0), pids[0])  # it had its own group; ours survived

    @defer.inlineCallbacks
    def test_a_daemon_left_holding_the_output_is_killed_after_a_grace(self):
        result = yield run_command([sys.executable, HANG_SCRIPT, "--detach-output"], 10.0)
        self.assertEqual((result.exit_code, result.timed_out), (0, False))
        self.assertLess(result.duration, 4)
        self.assertIn("kept its output open", " ".join(result.notes))
        grandchild = _pids(result.output)[-1]
        time.sleep(0.1)
        self.assertTrue(_gone(grandchild))

    @defer.inlineCallbacks
    def test_non_zero_exit_is_reported_with_its_output(self):
        pidfile = os.path.join(tempfile.mkdtemp(), "x.pid")
        argv = restart_entry("gitea", closed_port(), pidfile, fail_with=3)["argv"]
        result = yield run_command(argv, 10)
        self.assertEqual((result.exit_code, result.ok, result.outcome_text()), (3, False, "exit 3"))
        self.assertIn("failed on purpose", result.output)
        self.assertFalse(os.path.exists(pidfile))

    @defer.inlineCallbacks
    def test_huge_output_is_bounded_counted_and_hashed(self):
        argv = [sys.executable, "-c", "import sys; sys.stdout.write('x' * 10_000_000); sys.exit(0)"]
        result = yield run_command(argv, 20, output_limit=64 * 1024)
        self.assertTrue(result.ok)
        self.assertEqual(result.output_bytes, 10_000_000)
        self.assertTrue(result.truncated)
        self.assertLess(len(result.output), 64 * 1024 + 200)
        self.assertIn("[output truncated: 10000000 bytes in all, the first 65536 kept]", result.output)
        self.assertEqual(result.digest, hashlib.sha256(b"x" * 10_000_000).hexdigest())

    @defer.inlineCallbacks
    def test_a_missing_program_is_reported_not_raised(self):
        result = yield run_command(["no-such-program-here"], 5)
        self.assertEqual(result.error, "not found: no-such-program-here")
        self.assertFalse(result.ok)
        result = yield run_command(["/nonexistent/bin/x", "a"], 5)
        self.assertFalse(result.ok)
