"""
bench/command_costs.py's parts that run without a live world: the timer the
Server loads through `py`, the command line and the report.
"""

import contextlib
import io
import json
import os
import tempfile
from unittest import mock

from evennia.utils.test_resources import EvenniaTest

from bench import command_costs
from bench.support import commandtimer


class CommandTimerTests(EvenniaTest):
    def test_each_line_runs_through_the_command_handler_and_is_timed(self):
        sent = []
        with mock.patch.object(type(self.session), "data_out", lambda session, **kwargs: sent.append(kwargs)):
            timings = commandtimer.time_commands(self.session, ["look", "who"], 3)
        self.assertEqual(list(timings), ["look", "who"])
        self.assertTrue(all(len(values) == 3 and all(value > 0 for value in values) for values in timings.values()))
        texts = " ".join(str(kwargs.get("text")) for kwargs in sent)
        self.assertEqual(texts.count("room_desc"), 3)  # the look's answer, each time
        self.assertEqual(texts.count("Accounts:"), 3)

    def test_dump_writes_the_timings_as_json(self):
        folder = tempfile.mkdtemp(prefix="timmy-costs-test-")
        self.addCleanup(os.rmdir, folder)
        path = os.path.join(folder, "costs.json")
        self.addCleanup(os.remove, path)
        with mock.patch.object(type(self.session), "data_out"):
            self.assertEqual(commandtimer.dump(self.session, ["look"], 2, path), path)
        with open(path) as handle:
            self.assertEqual(len(json.load(handle)["look"]), 2)


class CommandCostsCliTests(EvenniaTest):
    def test_the_defaults_and_the_lines_given(self):
        args = command_costs.parse_args([])
        self.assertEqual((args.players, args.repeat, args.line), (100, 20, []))
        args = command_costs.parse_args(["--players", "0", "--line", "who", "--line", "help look"])
        self.assertEqual((args.players, args.line), (0, ["who", "help look"]))

    def test_bad_counts_are_refused(self):
        for argv in (["--repeat", "0"], ["--players", "-1"]):
            with self.subTest(argv=argv), self.assertRaises(SystemExit), \
                    contextlib.redirect_stderr(io.StringIO()):
                command_costs.parse_args(argv)

    def test_the_report_gives_min_median_and_max(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            command_costs.report(100, {"who": [3.0, 1.0, 2.0, 10.0, 2.5]})
        self.assertIn("with 100 players online", out.getvalue())
        self.assertRegex(out.getvalue(), r"who\s+1\.00\s+2\.50\s+10\.00")
