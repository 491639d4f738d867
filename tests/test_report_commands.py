"""
`@report` as the player sees it, and the daily report Script's schedule
(driven with a fixed `now`; worker threads replaced by a synchronous runner).
"""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from unittest.mock import patch

from django.test import override_settings
from evennia import create_script
from evennia.utils import create
from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTestCase
from twisted.internet import defer

from commands.report import CmdReport
from world.report import days, store

from .support.backupfixtures import synchronous
from .test_report import DAY, NEXT_MORNING, add_samples, at, sample_facts

USAGE = "Usage: @report; @report <YYYY-MM-DD>"


class ReportFilesMixin:
    """Private report and backup folders; worker threads run synchronously."""

    def setUp(self):
        super().setUp()
        self.folder = tempfile.mkdtemp(prefix="timmy-report-cmd-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.report_dir = os.path.join(self.folder, "reports")
        overridden = override_settings(TIMMY_REPORT_DIR=self.report_dir,
                                       BACKUP_DIR=os.path.join(self.folder, "backups"))
        overridden.enable()
        self.addCleanup(overridden.disable)
        patcher = patch("world.report.service.deferToThread", synchronous)
        patcher.start()
        self.addCleanup(patcher.stop)


class ReportCommandTests(ReportFilesMixin, EvenniaCommandTest):
    def test_today_so_far_fits_80_columns(self):
        today = days.today().isoformat()
        text = self.call(CmdReport(), "", f"Daily report for {today} (UTC) - Timmy World")
        self.assertIn("So far: 00:00-", text)
        for heading in ("Uptime", "Incidents", "Backups", "Agents"):
            self.assertIn(f"\n{heading}\n", text)
        self.assertIn("No backup was made.", text)
        self.assertTrue(all(len(line) <= 80 for line in text.splitlines()), text)

    def test_a_past_day_is_made_from_the_data_when_none_was_kept(self):
        add_samples("ollama", [("up", at(1)), ("down", at(2))])
        text = self.call(CmdReport(), "2026-11-23", "Daily report for 2026-11-23 (UTC)")
        self.assertIn("The whole day, 00:00-24:00 UTC", text)
        self.assertIn("50.0%", text)
        self.assertIn("(No report was kept for that day: made now from what the world still knows.)", text)

    def test_a_kept_day_is_shown_as_kept(self):
        store.write_report(self.report_dir, DAY, sample_facts(), "# kept\n")
        text = self.call(CmdReport(), "2026-11-23", "Daily report for 2026-11-23 (UTC)")
        self.assertIn("Timmy (llm): 42 decisions", text)
        self.assertIn("(As kept when the day was over.)", text)

    def test_bad_or_future_dates_are_refused_and_nothing_else_happens(self):
        with patch("commands.report.service.report_text") as report_text:
            for text, shown in (("yesterday", "yesterday"), ("2026-13-45", "2026-13-45"), ("../etc", "../etc"),
                                ("2026-11-23 extra", "2026-11-23 extra"), ("|rred|n", "red")):
                self.call(CmdReport(), text, f"'{shown}' is not a date like 2026-11-23 (UTC). {USAGE}")
            self.call(CmdReport(), "2999-01-01",
                      f"There is no report for a day that has not happened yet: 2999-01-01 "
                      f"(today is {days.today().isoformat()} UTC).")
            self.call(CmdReport(), "/all", "Unknown switch '/all' (valid: none).")
        report_text.assert_not_called()
        self.assertFalse(os.path.exists(self.report_dir))

    def test_a_failure_is_reported_without_a_traceback(self):
        with patch("commands.report.service.report_text", return_value=defer.fail(RuntimeError("boom"))), \
                patch("commands.report.logger") as logger:
            text = self.call(CmdReport(), "", "The report could not be made; the error is in the server log.")
        self.assertNotIn("boom", text)
        self.assertIn("boom", logger.log_err.call_args[0][0])

    def test_helpers_may_read_it_players_may_not(self):
        self.char2.permissions.clear()
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Player")
        self.assertFalse(CmdReport().access(self.char2, "cmd"))
        self.char2.account.permissions.add("Helper")
        self.assertTrue(CmdReport().access(self.char2, "cmd"))


class DailyReportScriptTests(ReportFilesMixin, EvenniaTestCase):
    def setUp(self):
        super().setUp()
        self.ops = create.create_channel("ops", locks="listen:all();send:all()")
        self.script = create_script("typeclasses.report_script.DailyReportScript", autostart=False)

    @contextmanager
    def ops_channel(self):
        """Catch what is said on the ops channel."""
        with patch.object(self.ops, "msg") as said, patch("evennia.search_channel", return_value=[self.ops]):
            yield said

    def kept_days(self):
        return [day.isoformat() for day in store.stored_days(self.report_dir)]

    def test_the_first_check_counts_from_now(self):
        with self.ops_channel() as said:
            self.assertIsNone(self.script.tick(now=NEXT_MORNING + 60))
        self.assertEqual(self.script.last_reported_day, "2026-11-23")
        self.assertEqual(self.kept_days(), [])
        said.assert_not_called()
        with self.ops_channel():
            self.assertIsNotNone(self.script.tick(now=NEXT_MORNING + 86400))
        self.assertEqual(self.kept_days(), ["2026-11-24"])

    def test_the_previous_day_is_reported_once_after_the_daily_time(self):
        self.script.last_reported_day = "2026-11-22"
        add_samples("ollama", [("up", at(1)), ("up", at(2)), ("down", at(3)), ("up", at(4))])
        with self.ops_channel() as said:
            self.assertIsNone(self.script.tick(now=NEXT_MORNING - 60))
            deferred = self.script.tick(now=NEXT_MORNING + 30)
            self.assertIsNone(self.script.tick(now=NEXT_MORNING + 90))
            self.assertIsNone(self.script.tick(now=NEXT_MORNING + 20 * 3600))
        self.assertTrue(deferred.called)
        self.assertEqual(self.kept_days(), ["2026-11-23"])
        self.assertEqual(self.script.last_reported_day, "2026-11-23")
        self.assertEqual(said.call_count, 1)
        summary = said.call_args[0][0]
        self.assertIn("Daily report for 2026-11-23: uptime ollama 75.0%, gitea no data", summary)
        self.assertIn("Full report: @report 2026-11-23", summary)
        self.assertLessEqual(len(summary.splitlines()), 5)
        with open(os.path.join(self.report_dir, "report-2026-11-23.md")) as handle:
            self.assertIn("| ollama | 75.0% | 4 | down | 1h 00m from 03:00 (1 check) |", handle.read())
        self.assertFalse(self.script.ndb.running)

    def test_after_a_week_down_it_catches_up_once_not_seven_times(self):
        self.script.last_reported_day = "2026-11-16"
        with self.ops_channel() as said:
            self.script.tick(now=NEXT_MORNING + 3600)
            self.script.tick(now=NEXT_MORNING + 3660)
        self.assertEqual(self.kept_days(), ["2026-11-23"])
        self.assertEqual(said.call_count, 1)

    def test_a_failed_write_is_announced_and_tried_again_later(self):
        self.script.last_reported_day = "2026-11-22"
        full = OSError(28, "No space left on device")
        with self.ops_channel() as said, patch("typeclasses.report_script.logger") as logger, \
                patch("world.report.store.write_report", side_effect=full) as write:
            self.script.tick(now=NEXT_MORNING + 30)
            self.script.tick(now=NEXT_MORNING + 90)
        self.assertEqual(write.call_count, 1)
        self.assertEqual(said.call_count, 1)
        self.assertEqual(said.call_args[0][0],
                         "|r[report] The daily report for 2026-11-23 could not be made ([Errno 28] No space left on "
                         "device); trying again in 10 minutes.|n")
        self.assertIn("No space left on device", logger.log_err.call_args[0][0])
        self.assertEqual(self.script.last_reported_day, "2026-11-22")
        self.assertFalse(self.script.ndb.running)
        with self.ops_channel() as said:
            self.script.tick(now=NEXT_MORNING + 30 + 601)
        self.assertEqual(self.kept_days(), ["2026-11-23"])
        self.assertEqual(self.script.last_reported_day, "2026-11-23")
        self.assertIn("Daily report for 2026-11-23", said.call_args[0][0])

    def test_a_report_being_made_is_not_started_twice(self):
        self.script.last_reported_day = "2026-11-22"
        self.script.ndb.running = True
        self.assertIsNone(self.script.tick(now=NEXT_MORNING + 30))
        self.assertEqual(self.kept_days(), [])

    def test_decisions_the_agent_no_longer_remembers_are_in_the_report(self):
        self.script.last_reported_day = "2026-11-22"
        timmy = create.create_object("typeclasses.agents.AgentCharacter", key="Timmy")
        timmy.decision_times = [at(10), at(10, 30), at(11)]
        timmy.notebook = [{"at": at(10, 45), "text": "Made a backup for the Vault."}]
        timmy.tokens_used = 900
        self.script.tick(now=at(11))
        timmy.decision_times = [at(29, 30)]  # an hour later the agent keeps only its last hour
        timmy.tokens_used = 1500
        with self.ops_channel() as said:
            self.script.tick(now=NEXT_MORNING + 30)
        with open(os.path.join(self.report_dir, "report-2026-11-23.json")) as handle:
            agent = json.load(handle)["agents"][0]
        self.assertEqual((agent["name"], agent["decisions"], agent["tokens_total"]), ("Timmy", 3, 1500))
        self.assertEqual([note["text"] for note in agent["notes"]], ["Made a backup for the Vault."])
        self.assertIn("Agents: Timmy 3 decisions.", said.call_args[0][0])
        ledger = self.script.activity_ledger()
        self.assertEqual(ledger["days"]["2026-11-24"]["Timmy"]["decisions"], 1)

    @override_settings(TIMMY_REPORT_AT="25:00")
    def test_a_malformed_report_time_falls_back_to_six_and_is_logged_once(self):
        self.script.last_reported_day = "2026-11-22"
        with self.ops_channel(), patch("typeclasses.report_script.logger") as logger:
            self.assertIsNone(self.script.tick(now=NEXT_MORNING - 60))
            self.assertIsNotNone(self.script.tick(now=NEXT_MORNING + 30))
        self.assertEqual(logger.log_err.call_count, 1)
        self.assertIn('TIMMY_REPORT_AT must be a UTC time like "06:00", not \'25:00\'',
                      logger.log_err.call_args[0][0])

    @override_settings(TIMMY_REPORT_AT="23:30")
    def test_the_daily_time_is_a_setting(self):
        self.script.last_reported_day = "2026-11-22"
        self.assertIsNone(self.script.tick(now=NEXT_MORNING + 30))
        with self.ops_channel():
            self.assertIsNotNone(self.script.tick(now=at(47, 31)))
        self.assertEqual(self.kept_days(), ["2026-11-23"])
