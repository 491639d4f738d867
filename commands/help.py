"""
Evennia's `help`, on a copy of the command set it lists, with its search
index and topic index kept.

Evennia's CmdHelp calls `make_unique()` on the merged command set the
command was found in, which removes same-named commands from that set in
place. Evennia throws a merged set away after each command, but the game
keeps and reuses it (commands/mergekeeper.py, commands/mergememo.py): without
the copy, after `help` two exits or objects offering the same command would
no longer be told apart ("More than one match") until the merge was redone.

The full-text index a topic is searched in and the laid-out list of topics
are kept by what they are made from (world/helpsearch.py): Evennia rebuilt
both at every `help`, on the reactor.
"""

from itertools import chain

from django.conf import settings
from evennia import CmdSet, default_cmds
from evennia.commands.default.help import HelpCategory

from commands.cmdsetindex import NameIndexedCmdSet
from world.helpsearch import LAYOUTS, frozen, help_search

# Evennia's fields and boosts for a topic search (CmdHelp.do_search)
SEARCH_FIELDS = [
    {"field_name": "key", "boost": 10},
    {"field_name": "aliases", "boost": 7},
    {"field_name": "no_prefix", "boost": 6},
    {"field_name": "category", "boost": 5},
    {"field_name": "tags", "boost": 1},
]
# Evennia's second try when no topic matches: the words of the help texts
TEXT_FIELDS = [{"field_name": "text", "boost": 1}]
TEXT_MATCHES = "\n... But matches were found within the help texts of the suggestions below."


def strip_prefix(text):
    """`text` without a leading ignored prefix such as `@`."""
    return text[1:] if text and text[0] in settings.CMD_IGNORE_PREFIXES else text


def exact_first(items, wanted, names_of):
    """Move the first item one of whose names (prefix stripped) is `wanted` to the front, in place."""
    for item in items:
        if wanted in [strip_prefix(name) for name in names_of(item)]:
            items.remove(item)
            items.insert(0, item)
            return


def entry_names(entry):
    """An entry's key and aliases (a help entry's aliases are a handler, a command's a list)."""
    if isinstance(entry, HelpCategory):
        return [entry.key]
    aliases = entry.aliases if isinstance(entry.aliases, list) else entry.aliases.all()
    return [entry.key, *aliases]


class CmdHelp(default_cmds.CmdHelp):
    __doc__ = default_cmds.CmdHelp.__doc__  # the help entry stays Evennia's

    run_memo = None  # during a run: its topics and searches, worked out once (see `remembered`)

    def func(self):
        """Evennia's help; a topic that matches nothing is answered here (see `answer_unmatched`)."""
        self.run_memo = {}
        try:
            if self.topic and self.answer_unmatched():
                return
            super().func()
        finally:
            self.run_memo = None

    def remembered(self, key, make):
        """`make()`, worked out once per run of the command (the topics cannot change within one)."""
        if self.run_memo is None:
            return make()
        if key not in self.run_memo:
            self.run_memo[key] = make()
        return self.run_memo[key]

    def collect_topics(self, caller, mode="list"):
        """Evennia's topics, collected from a copy of `self.cmdset` (see the module)."""
        def collect():
            if isinstance(self.cmdset, CmdSet):
                self.cmdset = NameIndexedCmdSet.copy_of(self.cmdset)
            return super(CmdHelp, self).collect_topics(caller, mode=mode)

        return self.remembered(("topics", caller, mode), collect)

    def answer_unmatched(self):
        """Answer a topic nothing matches as Evennia does, from kept indexes; False if something matches.

        Evennia then searches the words of every help text (the topic, as a
        prefix, as a suffix), building a full-text index for each try: about
        a quarter of a second on the reactor for one mistyped topic. The
        same steps here use the kept index (world/helpsearch.py). When the
        topic does match, Evennia's own `func` answers (its topics and the
        search are kept for the run, so they are not worked out twice).
        """
        query = self.topic
        cmd_topics, db_topics, file_topics = self.collect_topics(self.caller, mode="query")
        topics = {**file_topics, **db_topics, **cmd_topics}
        entries = list(topics.values()) + list({HelpCategory(topic.help_category) for topic in topics.values()})
        match, suggestions = self.do_search(query, entries)
        if match:
            return False
        help_text = f"There is no help topic matching '{query}'."
        if not suggestions:
            names = set(chain(*(cmd._keyaliases for cmd in cmd_topics.values())))
            for text_query in (query, f"{query}*", f"*{query}"):
                _, suggestions = help_search(text_query, entries, self.suggestion_maxnum, TEXT_FIELDS)
                if suggestions:
                    help_text += TEXT_MATCHES
                    suggestions = [self.strip_cmd_prefix(suggestion, names) for suggestion in suggestions]
                    break
        self.msg_help(self.format_help_entry(topic=None, help_text=help_text, suggested=suggestions,
                                             click_topics=self.clickable_topics))
        return True

    def do_search(self, query, entries, search_fields=None):
        """Evennia's search, step for step, on a kept index: the word, then the word as a prefix.

        Returns:
            tuple: (the match or None, [suggested topic keys]), an exact name first in each.
        """
        fields = search_fields or SEARCH_FIELDS
        match, suggestions = self.remembered(("search", query, frozen(fields)),
                                             lambda: self.search_topics(query, entries, fields))
        return match, list(suggestions)

    def search_topics(self, query, entries, fields):
        base_query = strip_prefix(query)
        match, suggestions = None, None
        for match_query in (query, f"{query}*"):
            matches, suggestions = help_search(match_query, entries, self.suggestion_maxnum, fields)
            exact_first(matches, base_query, entry_names)
            if matches:
                match = matches[0]
                break
        if match:
            exact_first(suggestions, base_query, lambda suggestion: [suggestion])
        return match, suggestions

    def format_help_index(self, cmd_help_dict=None, db_help_dict=None, title_lone_category=False,
                          click_topics=True):
        """Evennia's layout of the topics, made once per distinct topics, width and options."""
        key = (type(self), frozen(cmd_help_dict or {}), frozen(db_help_dict or {}), title_lone_category,
               click_topics, self.client_width())
        return LAYOUTS.get(key, lambda: super(CmdHelp, self).format_help_index(
            cmd_help_dict, db_help_dict, title_lone_category=title_lone_category, click_topics=click_topics))
