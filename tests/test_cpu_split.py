"""
The Server's and the Portal's reactor threads on CPUs of their own
(server/conf/cpusplit.py): how the CPUs are shared, that only the calling
thread keeps to its share while worker threads and the recovery runner's
commands get the whole launch set, that it can be turned off, and (in
tests/test_e2e_world.py's live world, before and after a reload) that the
live Server and Portal run that way.
"""

import os
import sys
import threading
from unittest import TestCase, mock, skipUnless

from twisted.internet import defer

from server.conf import cpusplit
from world.recovery.process import run_command

from .support.reactor import ReactorTestCase

AFFINITY = hasattr(os, "sched_getaffinity") and hasattr(os, "sched_setaffinity")
CPUS = frozenset(os.sched_getaffinity(0)) if AFFINITY else frozenset()
TWO_CPUS = skipUnless(AFFINITY and len(CPUS) >= 2, "needs CPU affinity and at least two CPUs")


class FakePool:
    """What `install` touches of Twisted's ThreadPool."""

    threadFactory = threading.Thread


def in_thread(function):
    """Run `function` in a new thread (so pinning it leaves the test's thread alone); return its result."""
    result = {}

    def target():
        try:
            result["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(10)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def cpus_of_thread(tid):
    """The CPUs a thread may run on, read from /proc ("Cpus_allowed_list")."""
    with open(f"/proc/{tid}/status") as handle:
        for line in handle:
            if line.startswith("Cpus_allowed_list:"):
                return expand(line.split(":", 1)[1].strip())
    raise AssertionError(f"no Cpus_allowed_list for {tid}")


def expand(text):
    """"0-2,5" -> {0, 1, 2, 5}."""
    cpus = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


class SharesTests(TestCase):
    def test_the_server_gets_the_lowest_cpu_and_the_portal_the_others(self):
        self.assertEqual(cpusplit.shares({0, 1}), {"server": {0}, "portal": {1}})
        self.assertEqual(cpusplit.shares({5, 2, 3}), {"server": {2}, "portal": {3, 5}})

    def test_one_cpu_is_not_split(self):
        self.assertIsNone(cpusplit.shares({3}))
        self.assertIsNone(cpusplit.shares(set()))

    def test_cpu_lists_are_read_and_written(self):
        self.assertEqual(cpusplit.parse_cpus("3,0,1"), {0, 1, 3})
        self.assertEqual(cpusplit.format_cpus({3, 0, 1}), "0,1,3")
        for bad in ("", "a,b", "-1", " , "):
            with self.subTest(bad=bad):
                self.assertIsNone(cpusplit.parse_cpus(bad))

    def test_the_recorded_launch_set_wins_over_the_threads_own(self):
        self.assertEqual(cpusplit.launch_cpus({"TIMMY_CPU_SET": "0,1"}, current={1}), {0, 1})
        self.assertEqual(cpusplit.launch_cpus({"TIMMY_CPU_SET": "junk"}, current={1}), {1})
        self.assertEqual(cpusplit.launch_cpus({}, current={0, 2}), {0, 2})

    def test_the_switch_reads_the_usual_words(self):
        self.assertTrue(cpusplit.enabled({}))
        self.assertTrue(cpusplit.enabled({"TIMMY_CPU_SPLIT": "1"}))
        for off in ("0", "off", "No", " false "):
            with self.subTest(off=off):
                self.assertFalse(cpusplit.enabled({"TIMMY_CPU_SPLIT": off}))


class InstallTests(TestCase):
    def test_turned_off_it_changes_nothing(self):
        environ, pool = {"TIMMY_CPU_SPLIT": "0"}, FakePool()
        before = in_thread(lambda: os.sched_getaffinity(0)) if AFFINITY else None
        self.assertIsNone(in_thread(lambda: cpusplit.install("server", pool=pool, environ=environ)))
        self.assertEqual(environ, {"TIMMY_CPU_SPLIT": "0"})
        self.assertIs(pool.threadFactory, threading.Thread)
        if AFFINITY:
            self.assertEqual(in_thread(lambda: os.sched_getaffinity(0)), before)

    @skipUnless(AFFINITY, "needs CPU affinity")
    def test_a_single_cpu_is_left_alone(self):
        only = min(CPUS)
        environ, pool = {"TIMMY_CPU_SET": str(only)}, FakePool()
        self.assertIsNone(in_thread(lambda: cpusplit.install("portal", pool=pool, environ=environ)))
        self.assertIs(pool.threadFactory, threading.Thread)
        self.assertEqual(environ, {"TIMMY_CPU_SET": str(only)})

    @skipUnless(AFFINITY, "needs CPU affinity")
    def test_a_recorded_cpu_that_does_not_exist_is_dropped(self):
        only = min(CPUS)
        environ, pool = {"TIMMY_CPU_SET": f"{only},{(os.cpu_count() or 1) + 4096}"}, FakePool()
        self.assertIsNone(in_thread(lambda: cpusplit.install("portal", pool=pool, environ=environ)))
        self.assertIs(pool.threadFactory, threading.Thread)

    @TWO_CPUS
    def test_cpus_it_may_not_use_leave_the_reactor_as_it_was(self):
        environ, pool = {}, FakePool()
        real = os.sched_setaffinity

        def refuse_the_pin(pid, cpus):
            if pid == 0:
                raise OSError(22, "Invalid argument")
            real(pid, cpus)

        with mock.patch.object(cpusplit.os, "sched_setaffinity", refuse_the_pin), \
                mock.patch.object(cpusplit.logger, "log_warn") as log_warn:
            got = in_thread(lambda: (cpusplit.install("server", pool=pool, environ=environ),
                                     os.sched_getaffinity(0)))
        self.assertEqual(got, (None, CPUS))
        self.assertEqual((environ, pool.threadFactory), ({}, threading.Thread))
        (warning,), _ = log_warn.call_args
        self.assertIn("the server's reactor keeps every CPU", warning)

    @TWO_CPUS
    def test_only_the_calling_thread_keeps_to_its_share_and_workers_get_the_whole_set(self):
        environ, pool = {}, FakePool()
        share = cpusplit.shares(CPUS)["portal"]

        def pinned_then_worker():
            got = cpusplit.install("portal", pool=pool, environ=environ)
            mine = os.sched_getaffinity(0)
            worker_cpus = {}
            worker = pool.threadFactory(target=lambda: worker_cpus.update(cpus=os.sched_getaffinity(0)))
            worker.start()
            worker.join(10)
            plain = {}
            bystander = threading.Thread(target=lambda: plain.update(cpus=os.sched_getaffinity(0)))
            bystander.start()
            bystander.join(10)
            return got, mine, worker_cpus["cpus"], plain["cpus"]

        got, mine, worker, plain = in_thread(pinned_then_worker)
        self.assertEqual((got, mine), (share, share))
        self.assertEqual(worker, CPUS)  # the pool's threads move back onto every CPU
        self.assertEqual(plain, share)  # what they would have inherited
        self.assertEqual(environ["TIMMY_CPU_SET"], cpusplit.format_cpus(CPUS))
        self.assertEqual(os.sched_getaffinity(0), CPUS)  # the test's own thread untouched

    @TWO_CPUS
    def test_a_process_started_pinned_uses_the_recorded_launch_set_and_frees_its_threads(self):
        share = cpusplit.shares(CPUS)["server"]
        environ, pool = {"TIMMY_CPU_SET": cpusplit.format_cpus(CPUS)}, FakePool()
        ready, release = threading.Event(), threading.Event()
        waiting = {}

        def waiter():  # a thread that was on the Portal's CPUs when the Server was started
            os.sched_setaffinity(0, cpusplit.shares(CPUS)["portal"])
            ready.set()
            release.wait(10)
            waiting["cpus"] = os.sched_getaffinity(0)

        thread = threading.Thread(target=waiter)
        thread.start()
        ready.wait(10)
        try:
            self.assertEqual(in_thread(lambda: (cpusplit.install("server", pool=pool, environ=environ),
                                                os.sched_getaffinity(0))), (share, share))
        finally:
            release.set()
            thread.join(10)
        self.assertEqual(waiting["cpus"], CPUS)


@skipUnless(AFFINITY, "needs CPU affinity")
class TrampolineTests(ReactorTestCase):
    """The recovery runner's commands take TIMMY_CPU_SET, not the spawning thread's CPUs."""

    SHOW = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]

    @defer.inlineCallbacks
    def test_a_command_runs_on_the_recorded_launch_set(self):
        only = max(CPUS)
        result = yield run_command(self.SHOW, 15, env=dict(os.environ, TIMMY_CPU_SET=str(only)))
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertEqual(result.output.strip(), str([only]))

    @defer.inlineCallbacks
    def test_a_bad_recorded_set_still_runs_the_command(self):
        environ = {key: value for key, value in os.environ.items() if key != "TIMMY_CPU_SET"}
        result = yield run_command(self.SHOW, 15, env=dict(environ, TIMMY_CPU_SET="x,y"))
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertEqual(result.output.strip(), str(sorted(CPUS)))


class LiveWorldCpuChecks:
    """The live Server's and Portal's reactor threads on their shares.

    A mixin for tests/test_e2e_world.py's TestLiveWorld (`self.world`,
    `self.pids` from tests/test_tcp_nodelay.py's LiveWorldSocketChecks);
    its reload test calls `check_reactor_cpus` too, since a reloaded Server
    is started from the Portal's pinned thread.
    """

    def check_reactor_cpus(self):
        if not (AFFINITY and len(CPUS) >= 2):
            self.skipTest("needs CPU affinity and at least two CPUs")
        split = cpusplit.shares(CPUS)
        pids = self.pids
        self.assertEqual(cpus_of_thread(pids["server"]), split["server"])
        self.assertEqual(cpus_of_thread(pids["portal"]), split["portal"])
        others = [int(tid) for tid in os.listdir(f"/proc/{pids['server']}/task") if int(tid) != pids["server"]]
        for tid in others:  # worker threads, if any have started, are on every CPU
            self.assertEqual(cpus_of_thread(tid), CPUS, f"Server thread {tid}")

    def test_the_reactor_threads_keep_to_cpus_of_their_own(self):
        self.check_reactor_cpus()
