"""
The file-based help topics (world/help_entries.py), read through `help`.
"""

import re
import tomllib

from django.conf import settings
from evennia.utils.test_resources import EvenniaTest

from world.help_entries import HELP_ENTRY_DICTS

from .test_lookup_costs import ShownMixin

NO_TOPIC = "No help found"


def topic(key):
    return next(entry for entry in HELP_ENTRY_DICTS if entry["key"] == key)


class HelpTopicTests(ShownMixin, EvenniaTest):
    def test_the_game_reads_this_module(self):
        self.assertIn("world.help_entries", settings.FILE_HELP_ENTRY_MODULES)

    def test_each_topic_is_found_by_key_and_by_every_alias(self):
        for entry in HELP_ENTRY_DICTS:
            first_line = entry["text"].strip().splitlines()[0]
            for name in [entry["key"], *entry["aliases"]]:
                with self.subTest(name=name):
                    self.assertIn(first_line, self.shown(f"help {name}"))

    def test_the_help_index_lists_the_topics(self):
        shown = self.shown("help")
        for entry in HELP_ENTRY_DICTS:
            self.assertIn(entry["key"], shown)

    def test_every_see_also_leads_to_a_topic_or_command(self):
        for entry in HELP_ENTRY_DICTS:
            for name in re.findall(r"help ([@\w]+)", entry["text"].split("See also:")[1]):
                with self.subTest(topic=entry["key"], see_also=name):
                    self.assertNotIn(NO_TOPIC, self.shown(f"help {name}"))

    def test_an_unknown_topic_says_so(self):
        self.assertIn(NO_TOPIC, self.shown("help no-such-topic"))

    def test_severity_figures_are_the_settings_defaults(self):
        text = topic("severity")["text"]
        for severity, seconds in settings.INCIDENT_ESCALATE_AFTER.items():
            self.assertRegex(text, rf"{severity} .*climbs after {seconds // 60} min")
        words = " ".join(text.split())
        self.assertIn(f"peer agent ({settings.INCIDENT_PEER})", words)
        self.assertIn(f"on-duty agent ({settings.INCIDENT_ON_DUTY})", words)

    def test_the_fleet_topic_names_every_persona(self):
        with open("agents/personas.toml", "rb") as handle:
            personas = tomllib.load(handle)["persona"]
        text = topic("fleet")["text"]
        for persona in personas:
            self.assertRegex(text, rf"\n    {re.escape(persona['name'])} ")
