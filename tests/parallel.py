"""
The suite in worker processes (`make test` runs two; see TimmyTestRunner).

Django's parallel runner forks its workers by default. A fork shares the
parent's Twisted reactor, created when Evennia was imported: its epoll
instance and its waker pipe. Two workers that spin the real reactor (the
recovery tests do) then see each other's file descriptors. So the workers
are spawned, fresh interpreters, each set up as the runner sets up its own
process (`configure_test_process`), with the test database copied in by
Django.

Each worker times its tests itself (the time since its previous test, so a
class's setUpClass counts for that class) and sends the figure with the
results, which the main process receives one class at a time.

The slowest classes (those that start a real world) go first, longest
first, so that no worker is left running one alone at the end while the
other has nothing to do. A class says how long it roughly takes with an
`expected_seconds` attribute; only the order matters.
"""

import os
import time

from django.test.runner import ParallelTestSuite, RemoteTestResult, RemoteTestRunner, _init_worker


def expected_seconds(subsuite):
    """The rough time a class's tests take (its `expected_seconds`, 0 if it says nothing)."""
    for test in subsuite:
        return getattr(type(test), "expected_seconds", 0)
    return 0


def init_timmy_worker(counter, initial_settings, serialized_contents, process_setup, process_setup_args,
                      debug_mode, used_aliases):
    """Django's worker set-up (settings, test database), then the runner's own (Evennia, hasher, logs).

    `process_setup_args` is (the settings module, the log folder). The
    settings module is the one the main process loaded: the environment says
    what `evennia test --settings settings.py` handed Django, a file name
    that is not importable on its own.
    """
    settings_module, log_folder = process_setup_args
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    _init_worker(counter, initial_settings, serialized_contents, None, None, debug_mode, used_aliases)
    from tests.runner import configure_test_process

    configure_test_process(log_folder)


class TimedRemoteResult(RemoteTestResult):
    """A worker's result that also sends each test's time, as a `chargeTime` event."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last = time.perf_counter()

    def stopTest(self, test):
        now = time.perf_counter()
        self.events.append(("chargeTime", self.test_index, now - self._last))
        self._last = now
        super().stopTest(test)


class TimedRemoteRunner(RemoteTestRunner):
    """Django's worker runner with the timed result."""

    resultclass = TimedRemoteResult


class TimmyParallelSuite(ParallelTestSuite):
    """Django's parallel suite: spawned, set-up and timed workers; slowest classes first."""

    init_worker = init_timmy_worker
    runner_class = TimedRemoteRunner

    def __init__(self, subsuites, *args, **kwargs):
        ordered = sorted(subsuites, key=expected_seconds, reverse=True)
        super().__init__(ordered, *args, **kwargs)
