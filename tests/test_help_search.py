"""
`help` with its search index and topic layout kept (commands/help.py,
world/helpsearch.py): the same answers as Evennia's CmdHelp, nothing rebuilt
for the same topics, and a changed topic seen at once.
"""

import re
from unittest import mock

from evennia import default_cmds
from evennia.commands.default.help import HelpCategory
from evennia.utils.utils import format_grid
from evennia.help.utils import LunrSearch
from evennia.utils import create
from evennia.utils.test_resources import EvenniaTest

from commands.cmdsetindex import NameIndexedCmdSet
from commands.help import CmdHelp
from world import helpsearch

from .test_lookup_costs import ShownMixin

# "agent roles" and "escalation" are aliases that lunr ranks below another topic: the exact name is moved first
QUERIES = ("look", "@status", "status", "stat", "timmy world", "severity", "xyzzy", "comms", "lo", "help",
           "@ag", "say", "general", "*", "look:", "agent roles", "escalation")


class HelpSearchTests(ShownMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        helpsearch.INDEXES.clear()
        helpsearch.LAYOUTS.clear()
        self.ours, self.theirs = CmdHelp(), default_cmds.CmdHelp()
        for command in (self.ours, self.theirs):
            command.caller, command.session, command.account = self.char1, self.session, self.account
            command.cmdset = NameIndexedCmdSet.copy_of(self.char1.cmdset.current)

    def entries(self):
        """What Evennia's `help <topic>` searches: every readable topic, then the categories."""
        cmd_topics, db_topics, file_topics = self.ours.collect_topics(self.char1, mode="query")
        topics = {**file_topics, **db_topics, **cmd_topics}
        entries = list(topics.values()) + list({HelpCategory(topic.help_category) for topic in topics.values()})
        # in the index's own order, so Evennia's index (built in the given order) lists ties as the kept one
        return sorted(entries, key=lambda entry: helpsearch.sort_key(entry.search_index_entry))

    def counted_index_builds(self):
        return mock.patch.object(LunrSearch, "index", autospec=True, side_effect=LunrSearch.index)

    def test_every_search_answers_as_evennias(self):
        entries = self.entries()
        found = 0
        for query in QUERIES:
            with self.subTest(query=query):
                ours = self.ours.do_search(query, entries)
                self.assertEqual(ours, self.theirs.do_search(query, entries))
                found += ours[0] is not None
        self.assertGreater(found, 5)  # matches and misses were both exercised
        self.assertLess(found, len(QUERIES))

    def test_the_same_topics_are_indexed_once(self):
        entries = self.entries()
        with self.counted_index_builds() as builds:
            for query in ("look", "stat", "severity", "look"):
                self.ours.do_search(query, entries)
        self.assertEqual(builds.call_count, 1)
        with self.counted_index_builds() as builds:
            self.ours.do_search("look", entries, search_fields=[{"field_name": "text", "boost": 1}])
            self.ours.do_search("look", entries[:-1])
        self.assertEqual(builds.call_count, 2)  # other fields, other topics: built anew

    def test_a_new_edited_or_deleted_topic_shows_at_once(self):
        self.assertIn("No help found", self.shown("help zebra drills"))
        entry = create.create_help_entry("zebra drills", "Stripes first.", category="General")
        self.assertIn("Stripes first.", self.shown("help zebra drills"))
        entry.entrytext = "Stripes last."
        entry.save()
        self.assertIn("Stripes last.", self.shown("help zebra drills"))
        entry.key = "okapi drills"
        entry.save()
        self.assertIn("Stripes last.", self.shown("help okapi"))
        entry.delete()
        self.assertIn("No help found", self.shown("help okapi drills"))

    def test_the_topic_list_is_evennias_and_laid_out_once_per_width(self):
        commands = {"general": ["look", "say", "who"], "operations": ["@status", "@incidents"]}
        topics = {"general": ["timmy world", "severity"]}
        with mock.patch("evennia.commands.default.help.format_grid",
                        side_effect=format_grid) as layouts:
            ours = self.ours.format_help_index(commands, topics)
            per_layout = layouts.call_count
            self.assertEqual(ours, self.theirs.format_help_index(commands, topics))
            self.assertEqual(self.ours.format_help_index(commands, topics), ours)
            self.assertEqual(layouts.call_count, 2 * per_layout)  # only Evennia's own laid it out again
            with mock.patch.object(CmdHelp, "client_width", return_value=50):
                narrow = self.ours.format_help_index(commands, topics)
            self.assertEqual(layouts.call_count, 3 * per_layout)
        self.assertNotEqual(narrow, ours)
        self.assertIn("@incidents", ours)

    def answer(self, command, topic):
        """What `help <topic>` shows char1 when `command` (ours or Evennia's) answers it."""
        command.args, command.cmdstring, command.raw_string = f" {topic}", "help", f"help {topic}"
        with mock.patch.object(self.char1, "msg") as msg:
            command.parse()
            command.func()
        return " ".join(str(call.kwargs.get("text", call.args)) for call in msg.call_args_list)

    def test_a_topic_that_matches_nothing_is_answered_as_evennia_answers_it(self):
        seen = set()
        for topic in ("xyzzy", "forge", "vault", "drum", "oracle", "climbs", "ollama"):
            with self.subTest(topic=topic):
                ours, theirs = self.answer(self.ours, topic), self.answer(self.theirs, topic)
                self.assertIn(f"There is no help topic matching '{topic}'.", ours)
                self.assertEqual(ours.count("matches were found within the help texts"),
                                 theirs.count("matches were found within the help texts"))
                links = re.findall(r"\|lchelp ([^|]+)\|lt", ours)
                self.assertEqual(sorted(links), sorted(re.findall(r"\|lchelp ([^|]+)\|lt", theirs)))
                seen.add(bool(links))
        self.assertEqual(seen, {True, False})  # with suggestions from the texts, and with none

    def test_a_mistyped_topic_builds_no_index_the_second_time(self):
        self.answer(self.ours, "xyzzy")
        with self.counted_index_builds() as builds:
            self.assertIn("no help topic matching 'xyzzy'", self.answer(self.ours, "xyzzy"))
        self.assertEqual(builds.call_count, 0)

    def test_a_matched_topic_collects_and_searches_once(self):
        with mock.patch.object(default_cmds.CmdHelp, "collect_topics", autospec=True,
                               side_effect=default_cmds.CmdHelp.collect_topics) as collected, \
                mock.patch("commands.help.help_search", side_effect=helpsearch.help_search) as searched:
            self.assertIn("Help for", self.answer(self.ours, "look"))
        self.assertEqual(collected.call_count, 1)
        self.assertEqual(searched.call_count, 1)  # "look" matched at the first try
        self.assertIsNone(self.ours.run_memo)  # nothing is kept past the run

    def test_help_alone_lists_the_same_topics_twice(self):
        first = self.shown("help")
        self.assertIn("@status", first)
        self.assertEqual(self.shown("help"), first)


class ExactFirstTests(EvenniaTest):
    def test_the_first_item_named_exactly_moves_to_the_front_prefix_ignored(self):
        from commands.help import exact_first

        suggestions = ["ircstatus", "@status", "status", "statue"]
        exact_first(suggestions, "status", lambda suggestion: [suggestion])
        self.assertEqual(suggestions, ["@status", "ircstatus", "status", "statue"])
        exact_first(suggestions, "nothing", lambda suggestion: [suggestion])
        self.assertEqual(suggestions, ["@status", "ircstatus", "status", "statue"])


class BoundedMemoTests(EvenniaTest):
    def test_it_keeps_the_last_used_up_to_its_limit(self):
        memo = helpsearch.BoundedMemo(2)
        made = []

        def make(value):
            return lambda: made.append(value) or value

        self.assertEqual(memo.get("a", make("A")), "A")
        memo.get("b", make("B"))
        self.assertEqual(memo.get("a", make("again")), "A")  # kept; now the most recent
        memo.get("c", make("C"))
        self.assertEqual(len(memo), 2)
        self.assertEqual(memo.get("b", make("B2")), "B2")  # b was dropped and is made anew
        self.assertEqual(made, ["A", "B", "C", "B2"])

    def test_frozen_documents_are_hashable_and_keep_their_content(self):
        document = {"key": "look", "aliases": ["l", "ls"], "extra": {"b": [1], "a": 2}}
        self.assertEqual(helpsearch.frozen(document),
                         (("aliases", ("l", "ls")), ("extra", (("a", 2), ("b", (1,)))), ("key", "look")))
        hash(helpsearch.frozen(document))
