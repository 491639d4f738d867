"""
The test runner's own parts: the parallel suite's order and the timings
the workers send (tests/parallel.py, tests/runner.py).
"""

import io
import unittest
from collections import defaultdict
from unittest import TestCase
from unittest.mock import patch

from .parallel import TimedRemoteRunner, TimmyParallelSuite, expected_seconds
from .runner import TimedResult, TimmyTestRunner


def sample_case(name, seconds=None, tests=1):
    """A TestCase class with `tests` empty tests (made here, so discovery does not run it)."""
    attributes = {f"test_{n}": lambda self: None for n in range(tests)}
    attributes["__module__"] = __name__
    if seconds is not None:
        attributes["expected_seconds"] = seconds
    return type(name, (TestCase,), attributes)


def suite_of(case):
    return unittest.defaultTestLoader.loadTestsFromTestCase(case)


class ParallelOrderTests(TestCase):
    def test_the_slowest_classes_go_first_and_the_rest_keep_their_order(self):
        quick, slow, middling = (suite_of(sample_case("Quick")), suite_of(sample_case("Slow", 80)),
                                 suite_of(sample_case("Middling", 30)))
        parallel = TimmyParallelSuite([quick, slow, middling, suite_of(sample_case("Other"))], 2)
        self.assertEqual([expected_seconds(sub) for sub in parallel.subsuites], [80, 30, 0, 0])
        self.assertIs(parallel.subsuites[2], quick)

    def test_a_class_that_says_nothing_counts_as_quick(self):
        self.assertEqual(expected_seconds(suite_of(sample_case("Quick"))), 0)
        self.assertEqual(expected_seconds(unittest.TestSuite()), 0)


class WorkerTimingTests(TestCase):
    def test_each_test_is_charged_the_time_since_the_one_before_before_it_stops(self):
        clock = iter([10.0, 12.5, 13.0])
        with patch("tests.parallel.time.perf_counter", side_effect=lambda: next(clock)):
            result = TimedRemoteRunner().run(suite_of(sample_case("Quick", tests=2)))
        timing = [event for event in result.events if event[0] in ("chargeTime", "stopTest")]
        self.assertEqual(timing, [("chargeTime", 0, 2.5), ("stopTest", 0), ("chargeTime", 1, 0.5), ("stopTest", 1)])


class MainResultTests(TestCase):
    def setUp(self):
        patches = [patch.object(TimedResult, "class_seconds", defaultdict(float)),
                   patch.object(TimedResult, "test_seconds", {}), patch.object(TimedResult, "_last", None)]
        for patcher in patches:
            patcher.start()
            self.addCleanup(patcher.stop)
        self.result = TimedResult(io.StringIO(), descriptions=False, verbosity=0)
        self.tests = list(suite_of(sample_case("Quick", tests=2)))

    def test_a_workers_figure_is_kept_not_measured_again(self):
        self.result.chargeTime(self.tests[0], 2.5)
        self.result.stopTest(self.tests[0])
        self.result.chargeTime(self.tests[1], 0.5)
        self.result.stopTest(self.tests[1])
        self.assertEqual(TimedResult.test_seconds, {self.tests[0].id(): 2.5, self.tests[1].id(): 0.5})
        self.assertEqual(dict(TimedResult.class_seconds), {f"{__name__}.Quick": 3.0})

    def test_a_test_run_in_this_process_is_measured_here(self):
        clock = iter([100.0, 101.5])
        with patch("tests.runner.time.perf_counter", side_effect=lambda: next(clock)):
            self.result.startTestRun()
            self.result.stopTest(self.tests[0])
        self.assertEqual(TimedResult.test_seconds, {self.tests[0].id(): 1.5})


class WorkerFallbackTests(TestCase):
    def test_without_semaphores_the_suite_runs_in_one_process(self):
        with patch("tests.runner.multiprocessing.Lock", side_effect=OSError(38, "Function not implemented")), \
                patch("tests.runner.multiprocessing.set_start_method") as set_start_method, \
                patch("builtins.print") as said:
            runner = TimmyTestRunner(parallel=2)
        self.assertEqual(runner.parallel, 1)
        set_start_method.assert_not_called()
        self.assertIn("one process", said.call_args.args[0])

    def test_with_them_the_workers_are_spawned(self):
        with patch("tests.runner.multiprocessing.set_start_method") as set_start_method:
            runner = TimmyTestRunner(parallel=2)
        self.assertEqual(runner.parallel, 2)
        set_start_method.assert_called_once_with("spawn", force=True)
