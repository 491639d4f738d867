"""
The test runner: Evennia's, plus a closing report.

Django's runner ends with "OK" or "FAILED (...)"; this adds the slowest test
classes (to keep the suite inside its time budget) and the plain
"N passed, N failed, N skipped" line CI tools read, and uses a fast password
hasher for the in-process tests. With `--parallel N` (`make test` gives 2)
the classes run in N spawned worker processes (tests/parallel.py).
"""

import multiprocessing
import os
import shutil
import tempfile
import time
import unittest
from collections import defaultdict

from django.conf import settings
from evennia.server.tests.testrunner import EvenniaTestSuiteRunner
from evennia.locks import lockhandler
from evennia.utils import logger

from tests.parallel import TimmyParallelSuite

SLOWEST_SHOWN = 8
# TIMMY_SLOWEST_TESTS=N also lists the N slowest single tests.
SLOWEST_TESTS_VARIABLE = "TIMMY_SLOWEST_TESTS"
# In-process tests create many accounts; the production hasher (PBKDF2, by
# design slow) cost ~0.3 s per password. Live worlds run real settings.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class TimedResult(unittest.TextTestResult):
    """Adds up the time spent in each test class.

    Each test is charged the time since the previous one finished, so a
    class's setUpClass (starting a live world, say) counts for that class.
    """

    class_seconds = defaultdict(float)
    test_seconds = {}
    _last = None

    def chargeTime(self, test, seconds):
        """A worker's own figure for `test` (sent before its stopTest)."""
        label = f"{type(test).__module__}.{type(test).__name__}"
        TimedResult.class_seconds[label] += seconds
        TimedResult.test_seconds[test.id()] = seconds

    def stopTest(self, test):
        super().stopTest(test)
        now = time.perf_counter()
        if test.id() not in TimedResult.test_seconds:  # run here, not in a worker
            self.chargeTime(test, now - (TimedResult._last or now))
        TimedResult._last = now

    def startTestRun(self):
        TimedResult._last = time.perf_counter()
        super().startTestRun()


def _print_slowest_tests():
    """The slowest single tests, if TIMMY_SLOWEST_TESTS asks for them."""
    try:
        count = int(os.environ.get(SLOWEST_TESTS_VARIABLE, "0"))
    except ValueError:
        count = 0
    slowest = sorted(TimedResult.test_seconds.items(), key=lambda item: -item[1])[:max(count, 0)]
    if slowest:
        print("\nSlowest tests:")
        for test_id, seconds in slowest:
            print(f"  {seconds:6.1f} s  {test_id}")


def configure_test_process(log_folder):
    """Set up one test process (the main one or a worker): Evennia, a fast hasher, files in `log_folder`.

    Each channel created in a test rotates its log file (Evennia's
    `basetype_setup`), and the heartbeat appends its history: in the game's
    own server/logs that left thousands of rotated files behind, made every
    later rotation rename all of them, and filled every live world's copy of
    the game directory. Building the world saves the agents' passwords: in
    the game's own server/conf that overwrote the credentials of the
    developer's own world, so each process writes its own file here.
    """
    import evennia

    evennia._init()  # idempotent; a spawned worker has not run it yet
    settings.TEST_ENVIRONMENT = True
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    settings.LOG_DIR = settings.HEARTBEAT_LOG_DIR = log_folder
    logger._LOGDIR = None  # Evennia's file logger reads LOG_DIR again at its next use
    lockhandler.WARNING_LOG = os.path.join(log_folder, "lockwarnings.log")  # read at import
    settings.TIMMY_AGENT_CREDENTIALS = os.path.join(log_folder, f"agent_credentials-{os.getpid()}.json")


def workers_possible():
    """True if this machine can run worker processes (Django's pool needs a process-shared lock)."""
    try:
        multiprocessing.Lock()
    except (ImportError, OSError):
        return False
    return True


class TimmyTestRunner(EvenniaTestSuiteRunner):
    """EvenniaTestSuiteRunner with timings, spawned parallel workers and a summary line at the end."""

    parallel_test_suite = TimmyParallelSuite

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.parallel > 1 and not workers_possible():
            print("No worker processes here (no working semaphores, e.g. no /dev/shm): one process.", flush=True)
            self.parallel = 1
        if self.parallel > 1:  # before the test databases are made: Django clones them for spawn
            multiprocessing.set_start_method("spawn", force=True)

    def setup_test_environment(self, **kwargs):
        """Django's and Evennia's test environment, then `configure_test_process`."""
        super().setup_test_environment(**kwargs)
        self.log_folder = tempfile.mkdtemp(prefix="timmy-test-logs-")
        configure_test_process(self.log_folder)

    def build_suite(self, *args, **kwargs):
        """Django's suite; a parallel one gets the settings module and log folder for its workers."""
        suite = super().build_suite(*args, **kwargs)
        if isinstance(suite, TimmyParallelSuite):
            suite.process_setup_args = (settings.SETTINGS_MODULE, self.log_folder)
        return suite

    def teardown_test_environment(self, **kwargs):
        """Close Evennia's cached log files and remove the temporary log folder."""
        for handle in list(logger._LOG_FILE_HANDLES.values()):
            handle.close()
        logger._LOG_FILE_HANDLES.clear()
        shutil.rmtree(self.log_folder, ignore_errors=True)
        super().teardown_test_environment(**kwargs)

    def get_resultclass(self):
        return TimedResult if not self.debug_sql and not self.pdb else super().get_resultclass()

    def run_suite(self, suite, **kwargs):
        started = time.perf_counter()
        result = super().run_suite(suite, **kwargs)
        elapsed = time.perf_counter() - started
        slowest = sorted(TimedResult.class_seconds.items(), key=lambda item: -item[1])[:SLOWEST_SHOWN]
        if slowest:
            workers = f", {self.parallel} worker processes" if self.parallel > 1 else ""
            print(f"\nSlowest test classes (of {elapsed:.0f} s in all{workers}):")
            for label, seconds in slowest:
                print(f"  {seconds:6.1f} s  {label}")
        _print_slowest_tests()
        failed = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
        skipped = len(result.skipped)
        passed = max(0, result.testsRun - failed - skipped)
        print(f"\n{passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return result
