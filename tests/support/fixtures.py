"""
Shared test fixtures: region data variants and a built world.
"""

import os
import shutil
import tempfile

from django.conf import settings
from django.test import override_settings

from world.builder import build_world


def private_agent_credentials(test, **more_settings):
    """Point TIMMY_AGENT_CREDENTIALS (and `more_settings`) at a temporary folder for one test.

    Call it before anything else overrides settings: the override is undone
    by a cleanup, after the test's own and before the folder is removed.
    (Undone in tearDown, it was undone before an override made later in
    setUp and undone by a cleanup, which then restored it for good.)

    Returns:
        str: The temporary folder; the credentials file is `agent_credentials.json` in it.
    """
    folder = tempfile.mkdtemp(prefix="timmy-secrets-")
    test.addCleanup(shutil.rmtree, folder, True)
    override = override_settings(
        TIMMY_AGENT_CREDENTIALS=os.path.join(folder, "agent_credentials.json"), **more_settings)
    override.enable()
    test.addCleanup(override.disable)
    return folder


def region_text():
    """The real region data file's text."""
    with open(settings.TIMMY_REGIONS_FILE) as handle:
        return handle.read()


class RegionFileMixin:
    """Gives each test a private copy of the region data file to edit."""

    def setUp(self):
        super().setUp()
        self.data_dir = tempfile.mkdtemp(prefix="timmy-regions-")
        self.region_file = os.path.join(self.data_dir, "regions.toml")
        self.write_regions(region_text())

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)
        super().tearDown()

    def write_regions(self, text):
        """Replace the test's region data file with `text`."""
        with open(self.region_file, "w") as handle:
            handle.write(text)

    def edit_regions(self, old, new):
        """Replace `old` by `new` in the test's region data file (must be present)."""
        text = region_text() if not os.path.exists(self.region_file) else open(self.region_file).read()
        assert old in text, f"{old!r} not in the region data"
        self.write_regions(text.replace(old, new, 1))


class BuiltWorldMixin(RegionFileMixin):
    """Builds the regions from the real data file before each test."""

    with_agents = False

    def setUp(self):
        super().setUp()
        self.build_report = build_world(self.region_file, agents=self.with_agents)
