"""
The daily report: days and the schedule, the agents' ledger, the facts of a
fixed day (heartbeat samples, incidents and their timelines, real backups,
agents), the wording, the kept files, and the web page.
"""

import calendar
import datetime
import json
import os
import re
import shutil
import tempfile
from unittest import TestCase
from unittest.mock import patch

from django.test import override_settings
from evennia.utils import create
from evennia.utils.test_resources import EvenniaTestCase

from world.backup.fsutil import write_json_private
from world.backup.store import BackupEntry
from world.models import HeartbeatSample, Incident, IncidentEvent
from world.plaintext import strip_markup
from world.report import activity, build, days, render, service, store
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

from .support.backupfixtures import BackupWorldMixin, synchronous

DAY = datetime.date(2026, 11, 23)
START = float(calendar.timegm((2026, 11, 23, 0, 0, 0)))
HOUR = 3600.0
NEXT_MORNING = START + 30 * HOUR  # 06:00 the day after: when the report is made
SERVICES = ["ollama", "gitea", "evennia", "disk", "agents", "backup"]


def at(hours, minutes=0):
    """Unix time `hours:minutes` into 2026-11-23 (negative or over 24: other days)."""
    return START + hours * HOUR + minutes * 60


def visible(text):
    """In-game text as the player sees it (markup removed)."""
    return strip_markup(text)


class TempReportDirMixin:
    """A private TIMMY_REPORT_DIR for each test."""

    def setUp(self):
        super().setUp()
        self.report_dir = tempfile.mkdtemp(prefix="timmy-reports-")
        self.addCleanup(shutil.rmtree, self.report_dir, True)
        overridden = override_settings(TIMMY_REPORT_DIR=self.report_dir)
        overridden.enable()
        self.addCleanup(overridden.disable)


# ------------------------------------------------------------------- days


class DayTests(TestCase):
    def test_parse_day_accepts_exactly_a_real_date(self):
        self.assertEqual(days.parse_day("2026-11-23"), DAY)
        self.assertEqual(days.parse_day(" 2024-02-29 "), datetime.date(2024, 2, 29))

    def test_parse_day_refuses_everything_else(self):
        for text in ("yesterday", "2026-13-45", "2026-02-30", "2025-02-29", "../etc", "2026/11/23", "20261123",
                     "2026-11-23T00:00", "2026-W47-1", "", "2026-11-2", "٢٠٢٦-١١-٢٣", "2026-11-23/../x"):
            with self.assertRaises(days.BadDay, msg=text):
                days.parse_day(text)

    def test_bounds_are_utc_midnight_to_midnight(self):
        self.assertEqual(days.bounds(DAY), (START, START + 86400))
        self.assertEqual(days.day_of(START - 0.001), datetime.date(2026, 11, 22))
        self.assertEqual(days.day_of(START + 86399.9), DAY)

    def test_future_days_are_refused(self):
        self.assertEqual(days.check_past_or_today(DAY, now=at(0, 1)), DAY)
        with self.assertRaises(days.FutureDay):
            days.check_past_or_today(DAY, now=at(-1))

    def test_report_time_must_be_hh_mm(self):
        self.assertEqual(days.parse_report_at("06:00"), (6, 0))
        self.assertEqual(days.parse_report_at("23:59"), (23, 59))
        for text in ("6:00", "24:00", "06:60", "six", "06:00\n06:00", ""):
            with self.assertRaises(days.BadReportTime, msg=text):
                days.parse_report_at(text)


class ScheduleTests(TestCase):
    def test_due_after_the_daily_time_for_the_day_before(self):
        self.assertEqual(days.day_due(at(30), "06:00", "2026-11-22"), DAY)
        self.assertIsNone(days.day_due(at(29, 59), "06:00", "2026-11-22"))  # 05:59: not yet

    def test_not_due_again_once_reported(self):
        self.assertIsNone(days.day_due(at(30), "06:00", "2026-11-23"))
        self.assertIsNone(days.day_due(at(47), "06:00", "2026-11-23"))
        self.assertEqual(days.day_due(at(54), "06:00", "2026-11-23"), datetime.date(2026, 11, 24))

    def test_catch_up_after_a_week_down_is_one_day_not_seven(self):
        self.assertEqual(days.day_due(at(24 * 8 + 7), "06:00", "2026-11-22"), datetime.date(2026, 11, 30))

    def test_never_reported_or_an_unreadable_mark_gives_the_latest_due_day(self):
        self.assertEqual(days.day_due(at(30), "06:00", None), DAY)
        self.assertEqual(days.day_due(at(30), "06:00", "garbage"), DAY)

    def test_a_late_report_time(self):
        self.assertEqual(days.day_due(at(47), "23:30", "2026-11-21"), datetime.date(2026, 11, 22))
        self.assertEqual(days.day_due(at(47, 30), "23:30", "2026-11-22"), DAY)


# --------------------------------------------------------------- activity


def agent_snapshot(name="Timmy", decisions=(), recorded=(), notes=(), tokens=100, goal="watch", mode="llm"):
    return {"name": name, "decision_times": list(decisions), "goal": goal, "mode": mode, "tokens": tokens,
            "recent_decisions": [{"at": t, "command": c, "reason": "r", "mode": "llm", "where": "hearth"}
                                 for t, c in recorded],
            "notebook": [{"at": t, "text": text} for t, text in notes]}


class ActivityLedgerTests(TestCase):
    def test_decisions_are_counted_once_per_day_across_observations(self):
        ledger = activity.observe({}, [agent_snapshot(decisions=[at(-0.5), at(1), at(2)])], at(2))
        # an hour later the agent's own window has dropped the old ones and added two
        ledger = activity.observe(ledger, [agent_snapshot(decisions=[at(2), at(2.5), at(3)])], at(3))
        days_ = ledger["days"]
        self.assertEqual(days_["2026-11-22"]["Timmy"]["decisions"], 1)
        self.assertEqual(days_["2026-11-23"]["Timmy"]["decisions"], 4)

    def test_recorded_decisions_and_notes_are_kept_per_day_bounded_and_clean(self):
        recorded = [(at(1, i), f"look {i}") for i in range(30)]
        notes = [(at(2), "|rred|n <b>note</b>"), (at(-2), "old note")]
        ledger = activity.observe({}, [agent_snapshot(recorded=recorded, notes=notes)], at(3))
        ledger = activity.observe(ledger, [agent_snapshot(recorded=recorded, notes=notes)], at(4))
        entry = ledger["days"]["2026-11-23"]["Timmy"]
        self.assertEqual(len(entry["recorded"]), activity.RECORDED_PER_DAY)
        self.assertEqual(entry["recorded"][-1]["command"], "look 29")
        self.assertEqual([n["text"] for n in entry["notes"]], ["red <b>note</b>"])
        self.assertEqual([n["text"] for n in ledger["days"]["2026-11-22"]["Timmy"]["notes"]], ["old note"])

    def test_goal_mode_and_tokens_are_noted_for_the_current_day_and_tokens_per_day_computed(self):
        ledger = activity.observe({}, [agent_snapshot(tokens=1000, goal="first")], at(23))
        ledger = activity.observe(ledger, [agent_snapshot(tokens=1500, goal="|gsecond|n")], at(25))
        self.assertEqual(ledger["days"]["2026-11-23"]["Timmy"]["goal"], "first")
        self.assertEqual(ledger["days"]["2026-11-24"]["Timmy"]["goal"], "second")
        self.assertEqual(activity.tokens_that_day(ledger, datetime.date(2026, 11, 24), "Timmy"), 500)
        self.assertIsNone(activity.tokens_that_day(ledger, DAY, "Timmy"))  # no earlier day to subtract
        self.assertIsNone(activity.tokens_that_day(ledger, DAY, "Nobody"))

    def test_old_days_are_forgotten_and_the_input_is_not_changed(self):
        first = activity.observe({}, [agent_snapshot(decisions=[at(1)])], at(1))
        kept = json.dumps(first, sort_keys=True)
        later = activity.observe(first, [agent_snapshot()], at(24 * activity.LEDGER_DAYS + 1))
        self.assertNotIn("2026-11-23", later["days"])
        self.assertEqual(json.dumps(first, sort_keys=True), kept)


# ------------------------------------------------------------------ facts


def add_samples(service, states_at):
    HeartbeatSample.objects.bulk_create(
        HeartbeatSample(service=service, state=state, latency_ms=10.0, reason=state, checked_at=when)
        for state, when in states_at)


def add_incident(opened, severity="P1", summary="ollama does not answer", level=1, resolved=None,
                 state=Incident.OPEN):
    incident = Incident.objects.create(fingerprint=f"test:{opened}", severity=severity, summary=summary,
                                       level=level, opened_at=opened, resolved_at=resolved,
                                       state=Incident.RESOLVED if resolved else state)
    IncidentEvent.objects.create(incident=incident, at=opened, kind="opened", actor="heartbeat", text=summary)
    if resolved:
        IncidentEvent.objects.create(incident=incident, at=resolved, kind="resolved", actor="Ezra")
    return incident


def event(incident, when, kind, text=""):
    return IncidentEvent.objects.create(incident=incident, at=when, kind=kind, actor="Timmy", text=text)


NO_BACKUPS = {"entries": [], "error": None}


class FactsTests(EvenniaTestCase):
    """build.collect on rows made with fixed times."""

    def collect(self, now=NEXT_MORNING, backups=None, ledger=None):
        return build.collect(DAY, now=now, backups=backups or NO_BACKUPS, ledger=ledger)

    def test_uptime_worst_state_and_longest_outage_per_service(self):
        add_samples("ollama", [(UP, at(0)), (UP, at(1)), (DOWN, at(2)), (DOWN, at(2, 10)), (DOWN, at(2, 20)),
                               (UP, at(2, 30)), (DEGRADED, at(3)), (UNKNOWN, at(4)), (DOWN, at(5)), (UP, at(5, 5)),
                               (DOWN, at(-0.01)), (DOWN, at(24))])  # the last two belong to other days
        add_samples("relay", [(UP, at(1))])
        add_samples("disk", [(UP, at(h)) for h in range(24)])
        services = {row["name"]: row for row in self.collect()["services"]}
        self.assertEqual(list(services), SERVICES + ["relay"])
        ollama = services["ollama"]
        self.assertEqual(ollama["samples"], 10)
        self.assertAlmostEqual(ollama["uptime"], 5 / 10)
        self.assertEqual(ollama["states"], {UP: 4, DOWN: 4, DEGRADED: 1, UNKNOWN: 1})
        self.assertEqual(ollama["worst"], DOWN)
        self.assertEqual(ollama["outage"], {"start": at(2), "seconds": 1800.0, "samples": 3})
        self.assertEqual((services["disk"]["uptime"], services["disk"]["worst"], services["disk"]["outage"]),
                         (1.0, UP, None))
        self.assertEqual((services["gitea"]["uptime"], services["gitea"]["samples"], services["gitea"]["worst"]),
                         (None, 0, None))

    def test_an_outage_running_to_the_end_counts_to_its_last_sample(self):
        self.assertEqual(build.longest_outage([(UP, 0), (DOWN, 60), (DOWN, 120), (DOWN, 300)]),
                         {"start": 60, "seconds": 240, "samples": 3})
        self.assertIsNone(build.longest_outage([]))

    def test_incidents_opened_resolved_open_time_to_acknowledge_and_level(self):
        before = add_incident(at(-2), resolved=at(1))                        # resolved this day
        quick = add_incident(at(2, 5), resolved=at(3))                       # acked after 4 min
        event(quick, at(2, 9), "acknowledged")
        slow = add_incident(at(10), severity="P0", level=3, summary="<b>gitea</b> |rdown|n",
                            state=Incident.ACKNOWLEDGED)
        event(slow, at(10, 20), "escalated", "to level 2")
        event(slow, at(10, 30), "acknowledged")
        event(slow, at(10, 40), "acknowledged")                              # only the first counts
        event(slow, at(25), "escalated", "to level 3")                       # after the day: not counted
        never = add_incident(at(20), severity="P2")                          # never acknowledged
        add_incident(at(-30), resolved=at(-20))                              # all before the day
        add_incident(at(24, 30))                                             # the next day
        facts = self.collect()["incidents"]
        self.assertEqual((facts["opened"], facts["resolved"], facts["open_at_end"]), (3, 2, 2))
        self.assertEqual((facts["acknowledged"], facts["ack_median"], facts["ack_max"]), (2, 1020.0, 1800.0))
        self.assertEqual((facts["highest_level"], facts["highest_level_id"]), (2, slow.id))
        rows = {row["id"]: row for row in facts["list"]}
        self.assertEqual(list(rows), [before.id, quick.id, slow.id, never.id])
        self.assertEqual(rows[slow.id]["summary"], "<b>gitea</b> down")
        self.assertEqual(rows[slow.id]["state"], "acknowledged")
        self.assertEqual((rows[never.id]["state"], rows[never.id]["ack_seconds"]), ("open", None))
        self.assertTrue(rows[before.id]["resolved_in_day"])
        self.assertFalse(rows[before.id]["opened_in_day"])

    def test_today_so_far_stops_at_now(self):
        add_samples("ollama", [(UP, at(1)), (DOWN, at(3))])
        incident = add_incident(at(2), resolved=at(4))
        facts = self.collect(now=at(3, 30))
        self.assertFalse(facts["complete"])
        self.assertEqual(facts["until"], at(3, 30))
        self.assertEqual(facts["services"][0]["samples"], 2)
        self.assertEqual(facts["incidents"]["list"][0]["id"], incident.id)
        self.assertEqual((facts["incidents"]["resolved"], facts["incidents"]["open_at_end"]), (0, 1))

    def test_agents_decisions_goal_tokens_notes_of_that_day(self):
        timmy = create.create_object("typeclasses.agents.AgentCharacter", key="Timmy")
        create.create_object("typeclasses.agents.AgentCharacter", key="Ezra")
        timmy.decision_times = [at(23, 30), at(23, 40), at(24, 10)]
        timmy.recent_decisions = [{"at": at(23, 30), "command": "@status", "reason": "the board", "mode": "llm",
                                   "where": "hearth"}, {"at": at(24, 10), "command": "look", "reason": "",
                                                        "mode": "llm", "where": "hearth"}]
        timmy.notebook = [{"at": at(12), "text": "Lost my model; working on the planner."},
                          {"at": at(-5), "text": "yesterday's"}]
        timmy.tokens_used, timmy.current_goal = 4321, "|rwatch|n the fleet"
        ledger = activity.observe({}, [agent_snapshot("Timmy", tokens=4000)], at(12))
        agents = {row["name"]: row for row in self.collect(ledger=ledger)["agents"]}
        self.assertEqual(list(agents), ["Ezra", "Timmy"])
        row = agents["Timmy"]
        self.assertEqual(row["decisions"], 2)
        self.assertEqual([d["command"] for d in row["recent"]], ["@status"])
        self.assertEqual([n["text"] for n in row["notes"]], ["Lost my model; working on the planner."])
        self.assertEqual((row["tokens_total"], row["tokens_day"]), (4321, None))
        self.assertEqual(row["goal"], "watch")  # the goal the ledger noted during that day
        self.assertEqual(agents["Ezra"]["decisions"], 0)

    def test_a_day_with_no_data_at_all(self):
        facts = self.collect()
        self.assertTrue(facts["complete"])
        self.assertTrue(all(row["uptime"] is None for row in facts["services"]))
        self.assertEqual(facts["incidents"]["opened"], 0)
        self.assertEqual(facts["backups"], {"made": [], "drills": [], "error": None})
        self.assertEqual(facts["agents"], [])
        self.assertEqual(json.loads(json.dumps(facts)), facts)  # JSON-ready
        text = visible(render.text(facts))
        self.assertIn("no data", text)
        self.assertIn("No backup was made.", text)
        self.assertIn("No agents.", text)


class BackupFactsTests(BackupWorldMixin, EvenniaTestCase):
    """Backups and drills of a day, from real backups in a temporary BACKUP_DIR."""

    def test_backups_made_that_day_with_size_and_verification_and_drills_run(self):
        from world.backup.verify import verify_backup

        made = self.make_backup(now=at(3, 30))
        verify_backup(self.config, made.id)
        other = self.make_backup(now=at(-20))
        self.make_backup(now=at(27))
        write_json_private(os.path.join(other.path, "drill.json"),
                           {"ok": False, "at": at(4), "problems": ["integrity_check: |rbad|n page"]})
        with patch("world.backup.config.load_config", return_value=self.config):
            scan = build.scan_backups()
        facts = build.backup_facts(scan, *days.bounds(DAY))
        self.assertEqual([(row["id"], row["verified"]) for row in facts["made"]], [(made.id, "yes")])
        self.assertEqual(facts["made"][0]["size"], made.size)
        self.assertGreater(made.size, 0)
        self.assertEqual(facts["drills"], [{"id": other.id, "at": at(4), "ok": False,
                                            "problem": "integrity_check: bad page"}])



class BackupProblemTests(TestCase):
    def test_an_unreadable_backup_folder_is_reported_not_raised(self):
        with patch("world.backup.config.load_config"), \
                patch("world.backup.store.scan", side_effect=PermissionError(13, "Permission denied")):
            scan = build.scan_backups()
        self.assertEqual(scan, {"entries": [], "error": "cannot read the backup folder: Permission denied"})
        from world.backup.config import BackupConfigError

        with patch("world.backup.config.load_config", side_effect=BackupConfigError("BACKUP_DAILY_AT bad")):
            self.assertEqual(build.scan_backups()["error"], "backup settings are invalid: BACKUP_DAILY_AT bad")

    def test_a_broken_backup_is_listed_as_broken(self):
        entry = BackupEntry(id="20261123T101500Z", path="/nowhere", manifest=None, problem="no manifest")
        facts = build.backup_facts({"entries": [entry], "error": None}, *days.bounds(DAY))
        self.assertEqual(facts["made"][0]["verified"], "BROKEN")


# ----------------------------------------------------------------- words


def sample_facts(**changes):
    facts = {
        "format": 1, "day": "2026-11-23", "server": "Timmy World", "generated_at": NEXT_MORNING,
        "start": START, "end": START + 86400, "until": START + 86400, "complete": True,
        "services": [
            {"name": "ollama", "samples": 1440, "uptime": 0.99306, "states": {UP: 1430, DOWN: 10}, "worst": DOWN,
             "outage": {"start": at(3, 14), "seconds": 720.0, "samples": 10}},
            {"name": "gitea", "samples": 0, "uptime": None, "states": {}, "worst": None, "outage": None},
        ],
        "incidents": {"opened": 3, "resolved": 2, "open_at_end": 1, "acknowledged": 2, "ack_median": 250.0,
                      "ack_max": 720.0, "highest_level": 2, "highest_level_id": 14, "not_listed": 0,
                      "list": [{"id": 14, "severity": "P1", "service": "", "owner": "Ezra",
                                "summary": "relay <script>alert(1)</script> |rhums|n " + "x" * 150,
                                "level": 2, "state": "open", "opened_at": at(3, 14),
                                "opened_in_day": True, "resolved_at": None, "resolved_in_day": False,
                                "ack_seconds": None}]},
        "backups": {"made": [{"id": "20261123T033000Z", "created": at(3, 30), "size": 12897485,
                              "verified": "yes"}],
                    "drills": [{"id": "20261120T033000Z", "at": at(4), "ok": False, "problem": "regions missing"}],
                    "error": None},
        "agents": [{"name": "Timmy", "decisions": 42, "goal": "watch the fleet", "mode": "llm",
                    "tokens_total": 12345, "tokens_day": 1200,
                    "recent": [{"at": at(9, 14), "command": "@status", "reason": "the board *looked* stale " * 6,
                                "mode": "llm", "where": "hearth"}],
                    "notes": [{"at": at(10, 2), "text": "Lost my model | again [link](http://x)"}]}],
    }
    facts.update(changes)
    return facts


class RenderTests(TestCase):
    def test_text_fits_80_columns_and_says_everything(self):
        text = render.text(sample_facts())
        plain = visible(text)
        self.assertTrue(all(len(line) <= 80 for line in plain.splitlines()), plain)
        for expected in ("Daily report for 2026-11-23 (UTC)", "made 2026-11-24 06:00 UTC", "99.3%", "no data",
                         "12m 00s from 03:14 (10 checks)", "Opened 3, resolved 2; 1 still open at the end of the day.",
                         "Time to acknowledge: median 4m 10s, max 12m 00s (2 of 3 acknowledged).",
                         "Highest level reached: 2 (#14).", "20261123T033000Z", "12.3 MiB", "verified: yes",
                         "Drill 04:00 of 20261120T033000Z: FAILED regions missing", "Timmy (llm): 42 decisions",
                         "tokens 12,345 in all so far (about 1,200 that day)", "goal: watch the fleet",
                         "09:14 @status [hearth] - the board", "note 10:02: Lost my model ¦ again"):
            self.assertIn(expected, plain)
        self.assertIn("|rdown", text)
        self.assertIn("|r  Drill 04:00 of 20261120T033000Z", text)  # the failed drill is red

    def test_text_of_today_so_far(self):
        plain = visible(render.text(sample_facts(complete=False, until=at(14, 5))))
        self.assertIn("So far: 00:00-14:05 UTC (the day is not over).", plain)
        self.assertIn("Opened 3, resolved 2; 1 open now.", plain)

    def test_no_incident_acknowledged_and_backup_error(self):
        facts = sample_facts()
        facts["incidents"].update(acknowledged=0, ack_median=None, ack_max=None)
        facts["backups"] = {"made": [], "drills": [], "error": "cannot read the backup folder: denied"}
        plain = visible(render.text(facts))
        self.assertIn("None of the 3 opened was acknowledged.", plain)
        self.assertIn("cannot read the backup folder: denied", plain)
        self.assertIn("No backup was made.", plain)
        self.assertIn("No drill was run.", plain)

    def test_markdown_escapes_text_and_has_the_tables(self):
        text = render.markdown(sample_facts())
        self.assertTrue(text.startswith("# Daily report for 2026-11-23 (UTC)\n\nTimmy World. The whole day"),
                        text[:80])
        self.assertIn("| ollama | 99.3% | 1440 | down | 12m 00s from 03:14 (10 checks) |", text)
        self.assertIn("\\<script\\>", text)
        self.assertNotIn("<script>", text)
        self.assertIn("\\*looked\\*", text)
        self.assertIn("\\[link\\](http://x)", text)
        self.assertIn("- 09:14 `@status` \\[hearth\\]: the board", text)
        self.assertIn("### Timmy (llm)", text)

    def test_summary_is_a_few_lines_for_the_ops_channel(self):
        lines = render.summary(sample_facts()).splitlines()
        self.assertLessEqual(len(lines), 5)
        self.assertIn("Daily report for 2026-11-23: uptime ollama 99.3%, gitea no data.", visible(lines[0]))
        self.assertEqual(lines[1], "Incidents: 3 opened, 2 resolved, 1 still open; acknowledged in 4m 10s (median), "
                                   "12m 00s at most; highest level 2.")
        self.assertIn("1 made (1 verified); 1 drill(s), 1 FAILED", visible(lines[2]))
        self.assertIn("Timmy 42 decisions", lines[3])
        self.assertEqual(lines[-1], "Full report: @report 2026-11-23, or /status/report/2026-11-23/ on the website.")

    def test_durations(self):
        self.assertEqual([render.duration(s) for s in (None, 0, 59.6, 61, 3599, 3660, 90000)],
                         ["-", "0s", "1m 00s", "1m 01s", "59m 59s", "1h 01m", "1d 01h"])

    def test_malformed_facts_raise_for_the_loader_to_catch(self):
        for broken in ({}, sample_facts(services="x"), sample_facts(incidents={})):
            with self.assertRaises((KeyError, TypeError, ValueError, AttributeError)):
                render.display(broken)
            self.assertIsNone(service.usable(broken))
        facts = sample_facts()
        self.assertIs(service.usable(facts), facts)


# ------------------------------------------------------------------ files


class StoreTests(TestCase):
    def setUp(self):
        self.folder = os.path.join(tempfile.mkdtemp(prefix="timmy-reports-"), "reports")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.folder), True)

    def test_write_then_read_both_files(self):
        facts = sample_facts()
        path = store.write_report(self.folder, DAY, facts, "# report\n")
        self.assertEqual(path, os.path.join(self.folder, "report-2026-11-23.md"))
        self.assertEqual(store.read_markdown(self.folder, DAY), "# report\n")
        self.assertEqual(store.read_facts(self.folder, DAY), json.loads(json.dumps(facts)))
        self.assertEqual(sorted(os.listdir(self.folder)), ["report-2026-11-23.json", "report-2026-11-23.md"])
        self.assertEqual(os.stat(path).st_mode & 0o700, 0o600)  # owner reads and writes; not executable

    def test_a_failed_write_leaves_the_previous_report_and_no_temporary_file(self):
        store.write_report(self.folder, DAY, sample_facts(), "old\n")
        with patch("world.report.store.os.replace", side_effect=OSError(28, "No space left on device")):
            with self.assertRaises(OSError):
                store.write_report(self.folder, DAY, sample_facts(), "new\n")
        self.assertEqual(store.read_markdown(self.folder, DAY), "old\n")
        self.assertEqual(sorted(os.listdir(self.folder)), ["report-2026-11-23.json", "report-2026-11-23.md"])

    def test_missing_corrupt_or_foreign_facts_read_as_none(self):
        self.assertIsNone(store.read_facts(self.folder, DAY))
        self.assertIsNone(store.read_markdown(self.folder, DAY))
        os.makedirs(self.folder)
        path = store.path_for(self.folder, DAY, "json")
        for content in ("{not json", "[]", json.dumps(sample_facts(day="2026-11-22")),
                        json.dumps(sample_facts(format=99))):
            with open(path, "w") as handle:
                handle.write(content)
            self.assertIsNone(store.read_facts(self.folder, DAY), content[:30])

    def test_stored_days_newest_first_ignoring_other_files(self):
        for day in (DAY, datetime.date(2026, 11, 21), datetime.date(2026, 11, 22)):
            store.write_report(self.folder, day, sample_facts(day=day.isoformat()), "x\n")
        for name in ("report-2026-13-45.md", "notes.md", "report-2026-11-20.md.tmp"):
            open(os.path.join(self.folder, name), "w").close()
        self.assertEqual([d.isoformat() for d in store.stored_days(self.folder)],
                         ["2026-11-23", "2026-11-22", "2026-11-21"])
        self.assertEqual(len(store.stored_days(self.folder, limit=2)), 2)
        self.assertEqual(store.stored_days(os.path.join(self.folder, "missing")), [])

    def test_only_a_date_names_a_file(self):
        with self.assertRaises(TypeError):
            store.path_for(self.folder, "../../etc/passwd")

    @override_settings(TIMMY_REPORT_DIR=None)
    def test_default_folder_is_under_server_logs(self):
        from django.conf import settings

        self.assertEqual(store.report_dir(), os.path.join(settings.GAME_DIR, "server", "logs", "reports"))


# ---------------------------------------------------------------- service


class FindReportTests(TempReportDirMixin, EvenniaTestCase):
    """Kept report or made now; worker threads replaced by a synchronous runner."""

    def setUp(self):
        super().setUp()
        for target in ("world.report.service.deferToThread",):
            patcher = patch(target, synchronous)
            patcher.start()
            self.addCleanup(patcher.stop)
        scan = patch("world.report.build.scan_backups", return_value=NO_BACKUPS)
        scan.start()
        self.addCleanup(scan.stop)

    def found(self, day, now=NEXT_MORNING):
        results = []
        service.find_report(day, now).addCallback(results.append)
        return results[0]

    def test_a_past_day_without_a_kept_report_is_made_from_the_data(self):
        add_samples("ollama", [(UP, at(1))])
        found = self.found(DAY)
        self.assertFalse(found["stored"])
        self.assertEqual(found["facts"]["services"][0]["uptime"], 1.0)
        self.assertIn("made now from what the world still knows", service.text_of(found))

    def test_a_kept_report_is_preferred_for_a_past_day(self):
        store.write_report(self.report_dir, DAY, sample_facts(), "# kept\n")
        found = self.found(DAY)
        self.assertTrue(found["stored"])
        self.assertEqual(found["facts"]["agents"][0]["decisions"], 42)
        self.assertIn("As kept when the day was over.", service.text_of(found))

    def test_a_damaged_facts_file_falls_back_to_the_markdown(self):
        store.write_report(self.report_dir, DAY, sample_facts(services="broken"), "# kept |r markdown\n")
        found = self.found(DAY)
        self.assertIsNone(found["facts"])
        text = service.text_of(found)
        self.assertIn("# kept ||r markdown", text)
        self.assertIn("its facts file is missing", text)

    def test_today_is_always_made_now(self):
        store.write_report(self.report_dir, DAY, sample_facts(), "# kept\n")
        found = self.found(DAY, now=at(12))
        self.assertFalse(found["stored"])
        self.assertFalse(found["facts"]["complete"])
        self.assertNotIn("(No report was kept", service.text_of(found))

    def test_make_daily_report_keeps_both_files(self):
        results = []
        service.make_daily_report(DAY, NEXT_MORNING, ledger={}).addCallback(results.append)
        path, facts = results[0]
        self.assertEqual(path, os.path.join(self.report_dir, "report-2026-11-23.md"))
        self.assertEqual(store.read_facts(self.report_dir, DAY), json.loads(json.dumps(facts)))
        with open(path) as handle:
            self.assertTrue(handle.read().startswith("# Daily report for 2026-11-23 (UTC)"))


# -------------------------------------------------------------------- web


class ReportPageTests(TempReportDirMixin, EvenniaTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.account = create.create_account("Reader", email="", password="a-long-password-1")

    def setUp(self):
        super().setUp()
        scan = patch("world.report.build.scan_backups", return_value=NO_BACKUPS)
        scan.start()
        self.addCleanup(scan.stop)

    def login(self):
        self.client.force_login(self.account)

    def test_the_page_needs_a_login(self):
        for url in ("/status/report/", "/status/report/2026-11-23/", "/status/report/2026-11-23/markdown"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302, url)
            self.assertRegex(response["Location"], r"^/auth/login/\?next=/status/report/")

    @override_settings(TIMMY_STATUS_PUBLIC=True)
    def test_public_setting_opens_it(self):
        self.assertEqual(self.client.get("/status/report/").status_code, 200)

    def test_today_so_far_renders_with_no_data(self):
        self.login()
        response = self.client.get("/status/report/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        today = days.today().isoformat()
        self.assertIn(f"Daily report for {today} (UTC)", html)
        self.assertIn("So far: 00:00-", html)
        for name in SERVICES:
            self.assertIn(f'<tr data-service="{name}">', html)
        self.assertEqual(html.count("no data"), len(SERVICES))
        self.assertIn("No backup was made.", html)
        self.assertIn('id="agents-none"', html)
        self.assertNotIn('id="next-day"', html)
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_a_past_day_with_no_data_renders_and_links_its_neighbours(self):
        self.login()
        html = self.client.get("/status/report/2026-11-23/").content.decode()
        self.assertIn("Daily report for 2026-11-23 (UTC)", html)
        self.assertIn("The whole day, 00:00-24:00 UTC", html)
        self.assertIn('id="made-note"', html)
        self.assertIn('href="/status/report/2026-11-22/"', html)
        self.assertIn('id="next-day" href="/status/report/2026-11-24/"', html)
        self.assertIn('href="/status/report/2026-11-23/markdown"', html)

    def test_a_kept_report_is_shown_escaped(self):
        store.write_report(self.report_dir, DAY, sample_facts(), "# kept\n")
        self.login()
        html = self.client.get("/status/report/2026-11-23/").content.decode()
        self.assertIn('id="kept-note"', html)
        self.assertIn('<tr data-service="ollama">', html)
        self.assertIn("99.3%", html)
        self.assertIn("&lt;script&gt;", html)
        self.assertNotIn("<script>", html)
        self.assertIn('<div class="agent" data-agent="Timmy">', html)
        self.assertIn("Lost my model ¦ again", html)
        self.assertIn('<a href="/status/report/2026-11-23/">2026-11-23</a>', html)

    def test_a_kept_markdown_without_facts_is_shown_as_text(self):
        os.makedirs(self.report_dir, exist_ok=True)
        with open(os.path.join(self.report_dir, "report-2026-11-23.md"), "w") as handle:
            handle.write("# Old report <b>x</b>\n")
        self.login()
        html = self.client.get("/status/report/2026-11-23/").content.decode()
        self.assertIn('<pre class="kept" id="kept-markdown"># Old report &lt;b&gt;x&lt;/b&gt;', html)

    def test_bad_or_future_days_are_404_not_a_traceback(self):
        self.login()
        for url in ("/status/report/yesterday/", "/status/report/2026-13-45/", "/status/report/2999-01-01/",
                    "/status/report/..%2Fetc/", "/status/report/../etc/", "/status/report/2026-11-23x/",
                    "/status/report/yesterday/markdown", "/status/report/0001-01-01x/"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertNotIn(b"Traceback", response.content)

    def test_the_first_day_there_is_renders(self):
        self.login()
        self.assertEqual(self.client.get("/status/report/0001-01-01/").status_code, 200)

    def test_markdown_of_a_day(self):
        self.login()
        response = self.client.get("/status/report/2026-11-23/markdown")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/markdown; charset=utf-8")
        self.assertTrue(response.content.decode().startswith("# Daily report for 2026-11-23 (UTC)"))
        store.write_report(self.report_dir, DAY, sample_facts(), "# kept file\n")
        self.assertEqual(self.client.get("/status/report/2026-11-23/markdown").content, b"# kept file\n")

    def test_post_is_refused(self):
        self.login()
        self.assertEqual(self.client.post("/status/report/").status_code, 405)

    def test_status_page_links_the_report(self):
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn('id="report-link" href="/status/report/"', html)
        self.assertTrue(re.search(r'<a href="/status/report/">Daily report</a>', html))
