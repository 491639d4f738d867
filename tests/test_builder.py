"""
The idempotent world builder, RegionRoom descriptions and @buildworld.
"""

from unittest.mock import patch

from evennia.objects.models import ObjectDB
from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTest

from commands.building import CmdBuildWorld
from world.builder import EXIT_TAG_CATEGORY, REGION_TAG_CATEGORY, build_world, find_region
from world.regions import RegionDataError

from .support.fixtures import BuiltWorldMixin


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
    def test_rebuild_reports_no_change(self):
        from django.test import override_settings

        with override_settings(TIMMY_REGIONS_FILE=self.region_file), \
                patch("world.agentfleet.ensure_agents", return_value=[]):
            self.call(CmdBuildWorld(), "", "World build: 0 created, 0 updated, 0 removed, 11 unchanged.")

    def test_bad_data_file_is_reported_and_changes_nothing(self):
        from django.test import override_settings

        before = world_snapshot()
        self.edit_regions('to = "oracle"', 'to = "nowhere"')
        with override_settings(TIMMY_REGIONS_FILE=self.region_file):
            self.call(CmdBuildWorld(), "", "The world was not changed.")
        self.assertEqual(world_snapshot(), before)

    def test_arguments_are_refused(self):
        self.call(CmdBuildWorld(), "now please", "Usage: @buildworld")

    def test_players_cannot_build(self):
        self.char2.account.permissions.clear()
        self.assertFalse(CmdBuildWorld().access(self.char2, "cmd"))
        self.assertTrue(CmdBuildWorld().access(self.char1, "cmd"))
