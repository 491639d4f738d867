"""
bench/latency.py's parts that run without a live world: the bootstrap
interval of a p99 ratio, plain and in blocks (bench/support/resample.py), the targets' verdicts
and their intervals, the look samples kept with --keep, the command line.
"""

import contextlib
import io
import os
import random
import shutil
import tempfile
from unittest import TestCase

from bench import latency
from bench.support import resample


def looks(count, scale=1.0, seed=1):
    """Look times shaped like the benchmark's: about 2 ms, a long right tail."""
    draw = random.Random(seed)
    return [scale * (1.5 + draw.expovariate(2.0)) for _ in range(count)]


def case(key, samples, lags=(1.0,), cpu=None):
    return latency.Case(key, f"case {key}", looks=list(samples), lags=list(lags),
                        cpu=cpu or {"server": 5.0, "portal": 2.0, "agents": 0.1})


class NearestRankTests(TestCase):
    def test_picks_the_nearest_rank(self):
        ordered = [float(value) for value in range(1, 101)]
        self.assertEqual(resample.nearest_rank(ordered, 0.5), 51.0)
        self.assertEqual(resample.nearest_rank(ordered, 0.99), 99.0)
        self.assertEqual(resample.nearest_rank(ordered, 1.0), 100.0)
        self.assertEqual(resample.nearest_rank(ordered, 0.0), 1.0)

    def test_nothing_gives_zero(self):
        self.assertEqual(resample.nearest_rank([], 0.99), 0.0)

    def test_the_benchmarks_percentile_sorts_first(self):
        self.assertEqual(latency.percentile([3.0, 1.0, 2.0], 0.5), 2.0)


class RatioIntervalTests(TestCase):
    def test_the_same_distribution_gives_an_interval_around_one(self):
        low, high = resample.ratio_interval(looks(3000, seed=1), looks(3000, seed=2), rounds=300)
        self.assertLess(low, 1.0)
        self.assertGreater(high, 1.0)
        self.assertLess(high - low, 0.4)

    def test_a_slower_case_gives_an_interval_around_its_scale(self):
        low, high = resample.ratio_interval(looks(3000, scale=1.5, seed=3), looks(3000, seed=4), rounds=300)
        self.assertLess(low, 1.5)
        self.assertGreater(high, 1.5)
        self.assertGreater(low, 1.2)

    def test_more_samples_narrow_the_interval(self):
        few = resample.ratio_interval(looks(500, seed=5), looks(500, seed=6), rounds=300)
        many = resample.ratio_interval(looks(8000, seed=5), looks(8000, seed=6), rounds=300)
        self.assertLess(many[1] - many[0], few[1] - few[0])

    def test_the_same_seed_gives_the_same_interval(self):
        first, second = looks(1000, seed=7), looks(1000, seed=8)
        self.assertEqual(resample.ratio_interval(first, second, rounds=100, seed=3),
                         resample.ratio_interval(first, second, rounds=100, seed=3))

    def test_a_block_draw_keeps_runs_of_consecutive_samples(self):
        samples = [float(value) for value in range(1000)]
        drawn = resample.block_draw(samples, 50, random.Random(1))
        self.assertEqual(len(drawn), 1000)
        runs = [drawn[start:start + 50] for start in range(0, 1000, 50)]
        for run in runs:
            self.assertEqual(run, [run[0] + step for step in range(len(run))])
        self.assertGreater(len({run[0] for run in runs}), 1)

    def test_a_short_list_is_drawn_in_quarters_and_a_block_of_one_sample_by_sample(self):
        samples = [float(value) for value in range(20)]
        drawn = resample.block_draw(samples, 500, random.Random(2))
        self.assertEqual(len(drawn), 20)
        for start in range(0, 20, 5):
            self.assertEqual(drawn[start + 4] - drawn[start], 4.0)
        single = resample.block_draw(samples, 1, random.Random(2))
        self.assertEqual(single, random.Random(2).choices(samples, k=20))

    def test_blocks_widen_the_interval_when_slow_looks_come_in_stretches(self):
        steady = looks(4000, seed=20)
        stretches = [value * (1.4 if (index // 400) % 5 == 0 else 1.0)
                     for index, value in enumerate(looks(4000, seed=21))]
        plain = resample.ratio_interval(stretches, steady, rounds=300)
        blocked = resample.ratio_interval(stretches, steady, rounds=300, block=400)
        self.assertGreater(blocked[1] - blocked[0], plain[1] - plain[0])

    def test_an_empty_list_gives_none(self):
        self.assertIsNone(resample.ratio_interval([], [1.0]))
        self.assertIsNone(resample.ratio_interval([1.0], []))

    def test_bad_arguments_are_refused(self):
        for kwargs in ({"fraction": 1.5}, {"confidence": 1.0}, {"confidence": 0.0}, {"rounds": 0}, {"block": 0}):
            with self.subTest(**kwargs), self.assertRaises(ValueError):
                resample.ratio_interval([1.0], [1.0], **kwargs)


class TargetTests(TestCase):
    def by(self, idle, loaded, model_slow):
        cases = [case("1", looks(2000, scale=10.0, seed=10)), case("2i", idle[0]), case("2", loaded),
                 case("3", loaded), case("4", model_slow), case("5", loaded, lags=(400.0,)), case("2j", idle[1])]
        return {item.key: item for item in cases}

    def verdicts(self, by):
        """The two noise-bound targets' (met?, text), as "case 3" (against idle) and "case 4"."""
        found = {}
        for text, ok in latency.targets(by):
            if "Timmy idle" in text:
                found["case 3"] = (ok, text)
            elif "within 10 %" in text:
                found["case 4"] = (ok, text)
        self.assertEqual(len(found), 2)
        return found

    def test_a_loaded_case_like_idle_meets_both_and_says_how_sure(self):
        idle = (looks(3000, seed=11), looks(3000, seed=12))
        found = self.verdicts(self.by(idle, looks(3000, seed=13), looks(3000, seed=14)))
        ok, text = found["case 3"]
        self.assertTrue(ok)
        self.assertRegex(text, r"\d\.\d\d x, 90 % interval by resampling \d\.\d\d-\d\.\d\d x$")
        ok, text = found["case 4"]
        self.assertTrue(ok)
        self.assertRegex(text, r"[+-]\d+ %, 90 % interval by resampling [+-]\d+ to [+-]\d+ %$")

    def test_a_loaded_case_half_again_slower_misses_both(self):
        idle = (looks(3000, seed=11), looks(3000, seed=12))
        loaded, model_slow = looks(3000, scale=1.5, seed=13), looks(3000, scale=2.0, seed=14)
        found = self.verdicts(self.by(idle, loaded, model_slow))
        self.assertFalse(found["case 3"][0])
        self.assertFalse(found["case 4"][0])
        difference = 100 * (latency.percentile(model_slow, .99) / latency.percentile(loaded, .99) - 1)
        self.assertIn(f"; {difference:+.0f} %, 90 % interval", found["case 4"][1])

    def test_the_report_names_the_players_alone_without_a_target(self):
        idle = (looks(2000, seed=11), looks(2000, seed=12))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            latency.report(list(self.by(idle, looks(2000, seed=13), looks(2000, seed=14)).values()),
                           latency.parse_args([]))
        self.assertRegex(output.getvalue(), r"\(no target\) case 2, the players alone: p99 [\d.]+ ms, "
                                            r"[\d.]+ x, 90 % interval by resampling [\d.]+-[\d.]+ x Timmy idle")
        self.assertNotIn("MISSED", output.getvalue())


class KeptLooksTests(TestCase):
    def test_each_cases_looks_are_written_in_order(self):
        folder = tempfile.mkdtemp(prefix="timmy-latency-test-")
        self.addCleanup(shutil.rmtree, folder)
        latency.save_looks([case("2i", [2.5, 1.25]), case("3", [3.0])], folder)
        with open(os.path.join(folder, "looks-2i.txt")) as handle:
            self.assertEqual(handle.read(), "2.500\n1.250\n")
        self.assertEqual(sorted(os.listdir(folder)), ["looks-2i.txt", "looks-3.txt"])


class CommandLineTests(TestCase):
    def test_defaults(self):
        args = latency.parse_args([])
        self.assertEqual((args.samples, args.windows), (5000, 4))
        self.assertEqual(latency.parse_args(["--quick"]).samples, 200)
        self.assertEqual(latency.parse_args(["--windows", "4", "--samples", "2000"]).windows, 4)

    def test_bad_counts_are_refused(self):
        for argv in (["--windows", "0"], ["--windows", "27"], ["--samples", "0"], ["--world-env", "X"]):
            with self.subTest(argv=argv), contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
                latency.parse_args(argv)
