"""
The idempotent world builder, RegionRoom descriptions and @buildworld.

`@buildworld` makes a missing agent's password hash in a worker thread: the
thread is a recorder (tests/support/threads.py), and while its answer is
handled Django's hashing on this thread fails (as in test_passwords).
"""

import json
import os
from unittest.mock import patch

from django.test import override_settings
from evennia.accounts.models import AccountDB
from evennia.objects.models import ObjectDB
from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTest

from commands.building import CmdBuildWorld
from world import passwords
from world.agentfleet import ensure_agents, find_agent
from world.builder import EXIT_TAG_CATEGORY, REGION_TAG_CATEGORY, build_world, find_region
from world.regions import RegionDataError

from .support.fixtures import BuiltWorldMixin, private_agent_credentials
from .support.threads import ThreadRecorder, no_hashing_here, sent


def world_snapshot():
    """Everything the builder owns, as comparable data."""
    rooms = ObjectDB.objects.filter(db_tags__db_category=REGION_TAG_CATEGORY)
    exits = ObjectDB.objects.filter(db_tags__db_category=EXIT_TAG_CATEGORY)
    return {
        "objects": ObjectDB.objects.count(),
        "rooms": sorted((r.id, r.key, tuple(sorted(r.aliases.all())), r.static_desc) for r in rooms),
        "exits": sorted(
            (e.id, e.key, e.db_location_id, e.db_destination_id, tuple(sorted(e.aliases.all()))) for e in exits
        ),
    }


class TestBuilder(BuiltWorldMixin, EvenniaTest):
    def test_first_build_creates_four_regions_and_their_exits(self):
        self.assertEqual(len(self.build_report.created), 4 + 6 + 1)  # rooms, exits, limbo exit
        hearth = find_region("hearth")
        self.assertEqual(hearth.key, "The Hearth")
        exits = {e.key: e.destination for e in hearth.exits}
        self.assertEqual(exits["forge"], find_region("forge"))
        self.assertEqual(exits["oracle"], find_region("oracle"))
        self.assertEqual(exits["vault"], find_region("vault"))
        for key in ("forge", "oracle", "vault"):
            back = {e.key: e.destination for e in find_region(key).exits}
            self.assertEqual(back["hearth"], hearth)

    def test_second_build_changes_nothing(self):
        before = world_snapshot()
        report = build_world(self.region_file, agents=False)
        self.assertFalse(report.changed)
        self.assertEqual(report.unchanged, 11)
        self.assertEqual(world_snapshot(), before)

    def test_edited_description_is_applied_without_duplicating(self):
        before = world_snapshot()
        self.edit_regions("Anvils and long benches", "Cold anvils and long benches")
        report = build_world(self.region_file, agents=False)
        self.assertEqual(report.updated, ["room The Forge (static_desc)"])
        forge = find_region("forge")
        self.assertTrue(forge.static_desc.startswith("Cold anvils"))
        after = world_snapshot()
        self.assertEqual(after["objects"], before["objects"])
        self.assertEqual([r[0] for r in after["rooms"]], [r[0] for r in before["rooms"]])

    def test_renamed_region_and_exit_alias_update_in_place(self):
        forge_id = find_region("forge").id
        self.edit_regions('name = "The Forge"', 'name = "The Smithy"')
        self.edit_regions('aliases = ["the forge", "f"]', 'aliases = ["the forge", "smithy"]')
        build_world(self.region_file, agents=False)
        forge = find_region("forge")
        self.assertEqual((forge.id, forge.key), (forge_id, "The Smithy"))
        exit_obj = [e for e in find_region("hearth").exits if e.key == "forge"][0]
        self.assertEqual(sorted(exit_obj.aliases.all()), ["smithy", "the forge"])

    def test_removed_exit_is_deleted(self):
        text = open(self.region_file).read()
        vault_exit = '[[region.exit]]\nto = "vault"\nname = "vault"\naliases = ["the vault", "v"]\n'
        self.assertIn(vault_exit, text)
        self.write_regions(text.replace(vault_exit, ""))
        report = build_world(self.region_file, agents=False)
        self.assertEqual(len(report.removed), 1)
        self.assertNotIn("vault", [e.key for e in find_region("hearth").exits])

    def test_bad_file_leaves_world_untouched(self):
        before = world_snapshot()
        original = open(self.region_file).read()
        for old, new in (
            ('to = "forge"', 'to = "atlantis"'),  # exit to nowhere
            ('aliases = ["oracle", "ollama"]', 'aliases = ["oracle", "forge"]'),  # duplicate alias
            ('hub = "hearth"', 'hub = "moon"'),  # unknown region
        ):
            with self.subTest(change=new):
                self.edit_regions("Anvils and long", "Broken anvils and long")
                self.edit_regions(old, new)
                with self.assertRaises(RegionDataError):
                    build_world(self.region_file, agents=False)
                self.assertEqual(world_snapshot(), before)
                self.write_regions(original)

    def test_limbo_links_to_the_hearth(self):
        limbo = ObjectDB.objects.get_id(2)
        if find_region("hearth").id == 2:
            self.skipTest("no Limbo in this database")
        exits = {e.key: e.destination for e in limbo.exits}
        self.assertEqual(exits.get("hearth"), find_region("hearth"))

    def test_region_room_shows_static_text_and_each_service(self):
        text = find_region("oracle").return_appearance(self.char1)
        self.assertIn("pool of still light", text)
        self.assertIn("ollama", text)
        self.assertIn("not checked yet", text)

    def test_new_characters_start_at_the_hearth(self):
        from evennia.utils import create

        account = create.create_account("Operator", email="", password="a-long-password-1")
        character, errors = account.create_character()
        self.assertFalse(errors)
        self.assertEqual(character.location, find_region("hearth"))
        self.assertEqual(character.home, find_region("hearth"))
        account.delete()


class TestBuildWorldCommand(BuiltWorldMixin, EvenniaCommandTest):
    """@buildworld in a world whose agents exist (credentials in a temporary file)."""

    def setUp(self):
        self.secrets = private_agent_credentials(self)
        super().setUp()
        ensure_agents()
        regions = override_settings(TIMMY_REGIONS_FILE=self.region_file)
        regions.enable()
        self.addCleanup(regions.disable)
        self.thread = ThreadRecorder()
        patcher = patch.object(passwords, "deferToThread", self.thread)
        patcher.start()
        self.addCleanup(patcher.stop)

    def remove_agent(self, name):
        """Delete an agent's character and account, as if they had never been made."""
        find_agent(name).delete()
        AccountDB.objects.get(username=name).delete()

    def credentials(self):
        with open(os.path.join(self.secrets, "agent_credentials.json")) as handle:
            return json.load(handle)

    def test_rebuild_reports_no_change_and_needs_no_thread(self):
        self.call(CmdBuildWorld(), "", "World build: 0 created, 0 updated, 0 removed, 11 unchanged.")
        self.assertEqual(self.thread.calls, [])

    def test_a_missing_agent_is_made_again_with_its_hash_made_in_a_thread(self):
        self.remove_agent("Ezra")
        self.call(CmdBuildWorld(), "", "")
        function, args, _deferred = self.thread.calls[0]
        self.assertIs(function, passwords.hash_all)
        self.assertEqual(args, ([self.credentials()["Ezra"]],))  # strings only, no model
        self.assertFalse(AccountDB.objects.filter(username="Ezra").exists())
        self.assertIsNone(find_agent("Ezra"))
        with no_hashing_here(), patch.object(self.char1, "msg") as msg:
            self.thread.answer()
        ezra = AccountDB.objects.get(username="Ezra")
        self.assertTrue(ezra.check_password(self.credentials()["Ezra"]))
        shown = sent(msg)
        self.assertIn("World build: 2 created", shown)
        self.assertIn("account Ezra", shown)

    def test_a_password_the_credentials_file_lost_is_made_anew_in_the_thread(self):
        kept = self.credentials()
        lost = kept.pop("Timmy")
        with open(os.path.join(self.secrets, "agent_credentials.json"), "w") as handle:
            json.dump(kept, handle)
        self.call(CmdBuildWorld(), "", "")
        new_password = self.thread.calls[0][1][0][0]
        self.assertNotEqual(new_password, lost)
        with no_hashing_here(), patch.object(self.char1, "msg"):
            self.thread.answer()
        timmy = AccountDB.objects.get(username="Timmy")
        self.assertTrue(timmy.check_password(new_password))
        self.assertEqual(self.credentials()["Timmy"], new_password)
        self.assertTrue(AccountDB.objects.get(username="Ezra").check_password(kept["Ezra"]))  # others untouched

    def test_a_broken_thread_changes_nothing_and_is_logged(self):
        self.remove_agent("Ezra")
        before = (world_snapshot(), self.credentials())
        self.call(CmdBuildWorld(), "", "")
        with patch("commands.building.logger.log_err") as log_err, patch.object(self.char1, "msg") as msg:
            self.thread.fail()
        self.assertEqual(sent(msg), "The build failed; the server log says why.")
        self.assertIn("the worker thread broke", log_err.call_args.args[0])
        self.assertEqual((world_snapshot(), self.credentials()), before)
        self.assertFalse(AccountDB.objects.filter(username="Ezra").exists())
        self.assertIsNone(find_agent("Ezra"))

    def test_bad_data_file_is_reported_and_changes_nothing(self):
        self.remove_agent("Ezra")
        before = world_snapshot()
        self.edit_regions('to = "oracle"', 'to = "nowhere"')
        self.call(CmdBuildWorld(), "", "The world was not changed.")
        self.assertEqual(world_snapshot(), before)
        self.assertEqual(self.thread.calls, [])  # nothing hashed for a build that will not happen

    def test_arguments_are_refused(self):
        self.call(CmdBuildWorld(), "now please", "Usage: @buildworld")

    def test_players_cannot_build(self):
        self.char2.account.permissions.clear()
        self.assertFalse(CmdBuildWorld().access(self.char2, "cmd"))
        self.assertTrue(CmdBuildWorld().access(self.char1, "cmd"))
