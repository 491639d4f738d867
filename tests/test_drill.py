"""
The fire drill's short version, in the suite: one scenario through
bench/drill.py's own code.

The whole drill (`.venv/bin/python bench/drill.py`, five scenarios) takes
several minutes, more than the suite can afford; this runs its cheapest
scenario that exercises detection and recovery for real: a world with its
five agents, a fake Ollama and a fake Gitea as real processes; Ollama's
process is killed; the heartbeat must open an incident, self-healing must run
the `ollama` playbook, whose restart command brings the fake back, and the
world must be green again (incident resolved, agents back on their model)
with nothing lost from the database.
"""

from unittest import TestCase

from bench import drill

DETECT_WITHIN = 10.0  # two failed heartbeats 2 s apart, plus a loaded machine
RECOVER_WITHIN = 30.0  # green comes at about 7 s


class TestFireDrillShort(TestCase):
    expected_seconds = 35  # roughly; the parallel runner starts the slowest classes first

    def test_ollama_outage_is_detected_healed_and_nothing_is_lost(self):
        args = drill.parse_args(["--only", "ollama", "--timeout", str(RECOVER_WITHIN), "--baseline-timeout", "120"])
        progress = []
        outcomes, info = drill.run_drill(args.names, args, say=progress.append)
        self.assertEqual(len(outcomes), 1, "\n".join(progress))
        outcome = outcomes[0]
        story = "\n".join(progress + drill.table(outcomes) + outcome.details)
        self.assertEqual(outcome.error, "", story)
        self.assertIsNotNone(outcome.detect_seconds, story)
        self.assertLess(outcome.detect_seconds, DETECT_WITHIN, story)
        self.assertLessEqual(outcome.recover_seconds, RECOVER_WITHIN, story)
        self.assertGreater(outcome.recover_seconds, outcome.detect_seconds, story)
        self.assertEqual(outcome.lost, [], story)
        self.assertEqual(outcome.max_level, 1, story)
        self.assertRegex(story, r"recovery #\d+ ollama\s+\(auto, heartbeat\): succeeded", story)
        self.assertRegex(outcome.checked, r"\d+ accounts, \d+ incidents .* \d+ heartbeat samples", story)
        self.assertEqual(info["startup"], [], story)
        self.assertEqual(info["strays"], [], story)
