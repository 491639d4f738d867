"""
The agents run below the world's own processes (agents/process.py, TIMMY_AGENT_NICE).

The priority is lowered in a child process, as the agent's own process
does at its start: a process cannot take back a lower priority without
privileges, so the test runner's own is never touched.
"""

import os
import subprocess
import sys
from unittest import TestCase, mock

from agents import config as runtime_config
from agents import process as agent_process

CHILD = ("import os, sys; from agents.process import lower_priority;"
         " before = os.nice(0); lower_priority(int(sys.argv[1])); print(os.nice(0) - before)")


def lowered_by(increment):
    """How far lower_priority(increment) lowered a fresh process's priority."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(increment)], cwd=runtime_config.GAME_DIR,
                          capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout.split()[-1])


class LowerPriorityTests(TestCase):
    def test_an_agent_lowers_its_own_priority(self):
        self.assertEqual(lowered_by(10), 10)

    def test_zero_leaves_it_as_the_worlds(self):
        self.assertEqual(lowered_by(0), 0)

    def test_a_refusal_is_logged_and_the_agent_runs_on(self):
        with mock.patch.object(agent_process.os, "nice", side_effect=PermissionError("not allowed")), \
                mock.patch.object(agent_process.log, "msg") as logged:
            agent_process.lower_priority(5)
        self.assertIn("could not lower this agent's priority by 5", logged.call_args.args[0])


class NiceSettingTests(TestCase):
    def config(self, value=None):
        env = {} if value is None else {"TIMMY_AGENT_NICE": value}
        with mock.patch.dict(os.environ, env):
            if value is None:
                os.environ.pop("TIMMY_AGENT_NICE", None)
            return runtime_config.from_environment()

    def test_ten_steps_below_by_default(self):
        self.assertEqual(self.config().nice, 10)

    def test_a_whole_number_from_0_to_19(self):
        self.assertEqual([self.config(value).nice for value in ("0", "19", " 7 ")], [0, 19, 7])

    def test_anything_else_stops_the_agent_with_a_clear_message(self):
        for value in ("-1", "20", "ten", "2.5"):
            with self.assertRaises(SystemExit) as stopped:
                self.config(value)
            self.assertIn("TIMMY_AGENT_NICE", str(stopped.exception))
            self.assertIn("0 to 19", str(stopped.exception))
