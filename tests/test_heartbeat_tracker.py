"""
The heartbeat's state machine and the service check configuration.
"""

import os
import tempfile
from unittest import TestCase
from unittest.mock import patch

from django.conf import settings
from django.test import override_settings

from world.heartbeat import tracker
from world.heartbeat.config import CheckConfigError, load_checks
from world.heartbeat.probes import ProbeResult
from world.regions import load_world_spec
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

from .support.checks import make_check


class TrackerTests(TestCase):
    def setUp(self):
        self.memory = {}
        self.check = make_check("ollama", kind="ollama", target="http://127.0.0.1:1", region="oracle",
                                severity="P1")
        self.clock = 1000.0

    def feed(self, *states):
        changes = []
        for state in states:
            self.clock += 60
            result = ProbeResult("ollama", state, f"was {state}", 5.0, self.clock)
            change = tracker.update(self.memory, result, self.check, down_after=2, up_after=2)
            if change:
                changes.append(change)
        return changes

    def test_first_good_result_is_taken_silently(self):
        self.assertEqual(self.feed(UP), [])
        self.assertEqual(self.memory["ollama"]["state"], UP)

    def test_down_needs_two_consecutive_failures(self):
        self.feed(UP)
        self.assertEqual(self.feed(DOWN), [])
        changes = self.feed(DOWN)
        self.assertEqual([(c.old, c.new, c.region, c.severity) for c in changes], [(UP, DOWN, "oracle", "P1")])
        self.assertEqual(self.memory["ollama"]["since"], self.clock)

    def test_flapping_announces_nothing(self):
        self.feed(UP)
        self.assertEqual(self.feed(DOWN, UP, DOWN, UP, DOWN, UP, DOWN, UP), [])
        self.assertEqual(self.memory["ollama"]["state"], UP)

    def test_recovery_needs_two_successes_and_is_one_transition(self):
        self.feed(UP, DOWN, DOWN)
        self.assertEqual(self.feed(UP), [])
        changes = self.feed(UP, UP, UP)
        self.assertEqual([(c.old, c.new) for c in changes], [(DOWN, UP)])

    def test_down_from_the_start_is_announced(self):
        changes = self.feed(DOWN, DOWN)
        self.assertEqual([(c.old, c.new) for c in changes], [(UNKNOWN, DOWN)])

    def test_degraded_is_a_transition_too(self):
        self.feed(UP)
        changes = self.feed(DEGRADED, DEGRADED)
        self.assertEqual([(c.old, c.new) for c in changes], [(UP, DEGRADED)])

    def test_unknown_results_change_nothing(self):
        self.feed(UP, DOWN)
        self.assertEqual(self.feed(UNKNOWN, DOWN), [])
        self.assertEqual(self.memory["ollama"]["state"], UP)


class CheckConfigTests(TestCase):
    def assertConfigError(self, entries, fragment, **kwargs):
        with self.assertRaises(CheckConfigError) as ctx:
            load_checks(entries, **kwargs)
        self.assertIn(fragment, str(ctx.exception))

    def test_valid_entries_and_disabled_ones(self):
        checks = load_checks([
            {"name": "relay", "kind": "tcp", "target": "127.0.0.1:7777", "severity": "P2"},
            {"name": "gitea", "kind": "http", "target": "http://x/api", "enabled": False},
        ])
        self.assertEqual([c.name for c in checks], ["relay"])
        self.assertFalse(checks[0].critical)

    def test_malformed_entries_are_named(self):
        self.assertConfigError([{"name": "relay", "kind": "smoke"}], "entry 'relay': unknown kind 'smoke'")
        self.assertConfigError([{"name": "relay", "kind": "tcp", "target": "nohost"}],
                               "entry 'relay': 'target' must be host:port")
        self.assertConfigError([{"name": "web", "kind": "http", "target": "ftp://x"}],
                               "entry 'web': 'target' must be an http(s) URL")
        self.assertConfigError([{"name": "web", "kind": "http", "target": "http://x", "timeout": "soon"}],
                               "entry 'web': 'timeout' must be a number")
        self.assertConfigError([{"name": "web", "kind": "http", "target": "http://x", "timeout": 0}],
                               "'timeout' must be between")
        self.assertConfigError([{"name": "web", "kind": "http", "target": "http://x", "severity": "high"}],
                               "severity must be one of P0, P1, P2")
        self.assertConfigError([{"name": "web", "kind": "http", "target": "http://x", "colour": 1}],
                               "entry 'web': unknown field(s) colour")
        self.assertConfigError(["ollama"], "HEALTH_CHECKS[0]: must be a dict")
        self.assertConfigError([{"kind": "tcp"}], "HEALTH_CHECKS[0]: 'name' must be a word")
        self.assertConfigError([{"name": "d", "kind": "disk", "target": "/", "warn_percent": 90,
                                 "critical_percent": 80}], "warn_percent (90.0) is above critical_percent")
        self.assertConfigError([{"name": "a", "kind": "tcp", "target": "h:1"}] * 2, "'a': defined twice")

    def test_regions_are_checked_against_the_data_file(self):
        self.assertConfigError([{"name": "relay", "kind": "tcp", "target": "h:1", "region": "moon"}],
                               "unknown region 'moon'", known_regions=["hearth"])
        self.assertConfigError([{"name": "ollama", "kind": "ollama", "target": "http://x", "region": "vault"}],
                               "differs from the region data file", known_regions=["vault", "oracle"],
                               housed={"ollama": "oracle"})
        checks = load_checks([{"name": "ollama", "kind": "ollama", "target": "http://x"}],
                             known_regions=["oracle"], housed={"ollama": "oracle"})
        self.assertEqual(checks[0].region, "oracle")

    def test_the_region_file_is_read_again_only_when_it_changed(self):
        from world.heartbeat.config import configured_checks

        with open(settings.TIMMY_REGIONS_FILE) as handle:
            text = handle.read()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "regions.toml")
            with open(path, "w") as handle:
                handle.write(text)
            with override_settings(TIMMY_REGIONS_FILE=path), \
                    patch("world.regions.load_world_spec", wraps=load_world_spec) as reads:
                first = configured_checks()
                second = configured_checks()
                self.assertEqual(reads.call_count, 1)
                with open(path, "w") as handle:
                    handle.write(text.replace('services = ["ollama"]', "services = []", 1))
                os.utime(path, ns=(1, 1))
                third = configured_checks()
                self.assertEqual(reads.call_count, 2)
        self.assertEqual([(c.name, c.region) for c in first], [(c.name, c.region) for c in second])
        region_of_ollama = [next(c for c in checks if c.name == "ollama").region for checks in (first, third)]
        self.assertEqual(region_of_ollama, ["oracle", ""])

    def test_the_shipped_settings_are_valid(self):
        from world.heartbeat.config import configured_checks

        names = [check.name for check in configured_checks()]
        self.assertIn("ollama", names)
        self.assertIn("disk", names)
