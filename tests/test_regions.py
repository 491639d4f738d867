"""
The region data file: parsing and every validation error.
"""

import tomllib
from unittest import TestCase

from django.conf import settings

from world.regions import RegionDataError, load_world_spec, parse_world_spec


def real_data():
    with open(settings.TIMMY_REGIONS_FILE, "rb") as handle:
        return tomllib.load(handle)


class TestRealRegionFile(TestCase):
    def test_four_regions_with_hearth_as_hub(self):
        spec = load_world_spec(settings.TIMMY_REGIONS_FILE)
        self.assertEqual([r.name for r in spec.regions], ["The Hearth", "The Forge", "The Oracle", "The Vault"])
        self.assertEqual(spec.hub, "hearth")

    def test_hub_links_to_every_region_and_each_links_back(self):
        spec = load_world_spec(settings.TIMMY_REGIONS_FILE)
        hub = spec.region("hearth")
        self.assertEqual({e.to for e in hub.exits}, {"forge", "oracle", "vault"})
        for key in ("forge", "oracle", "vault"):
            self.assertIn("hearth", {e.to for e in spec.region(key).exits})

    def test_services_are_housed_once(self):
        spec = load_world_spec(settings.TIMMY_REGIONS_FILE)
        self.assertEqual(spec.region_of_service("ollama"), "oracle")
        self.assertEqual(spec.region_of_service("gitea"), "forge")
        self.assertIsNone(spec.region_of_service("nosuch"))


class TestRegionValidation(TestCase):
    def assertProblem(self, data, fragment):
        with self.assertRaises(RegionDataError) as ctx:
            parse_world_spec(data)
        self.assertIn(fragment, str(ctx.exception))

    def test_exit_to_unknown_region_is_named(self):
        data = real_data()
        data["region"][1]["exit"][0]["to"] = "nowhere"
        self.assertProblem(data, "region 'forge': exit 'hearth' leads to unknown region 'nowhere'")

    def test_unknown_hub_region_is_named(self):
        data = real_data()
        data["world"]["hub"] = "atlantis"
        self.assertProblem(data, "hub is unknown region 'atlantis'")

    def test_duplicate_region_alias_across_regions(self):
        data = real_data()
        data["region"][2]["aliases"].append("forge")
        self.assertProblem(data, "duplicate alias 'forge': used by region 'forge' and region 'oracle'")

    def test_duplicate_exit_alias_in_one_room(self):
        data = real_data()
        data["region"][0]["exit"][1]["aliases"].append("f")
        self.assertProblem(data, "region 'hearth': duplicate alias 'f'")

    def test_duplicate_region_key(self):
        data = real_data()
        data["region"][3]["key"] = "oracle"
        self.assertProblem(data, "region 'oracle' is defined twice")

    def test_missing_fields_and_unknown_fields(self):
        data = real_data()
        del data["region"][0]["desc"]
        data["region"][1]["colour"] = "red"
        with self.assertRaises(RegionDataError) as ctx:
            parse_world_spec(data)
        message = str(ctx.exception)
        self.assertIn("region 'hearth': desc is missing", message)
        self.assertIn("region 'forge': unknown field(s) colour", message)

    def test_bad_key_and_no_regions(self):
        data = real_data()
        data["region"][0]["key"] = "The Hearth"
        self.assertProblem(data, "key must be lowercase")
        self.assertProblem({"world": {"hub": "x"}}, "no [[region]] defined")

    def test_missing_file_and_bad_toml(self):
        with self.assertRaises(RegionDataError) as ctx:
            load_world_spec("/nonexistent/regions.toml")
        self.assertIn("file not found", str(ctx.exception))
