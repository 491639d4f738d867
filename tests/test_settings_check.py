"""
The production settings check: each unsafe setting is named, safe ones pass.
"""

import os
import subprocess
import sys
import tempfile
from types import SimpleNamespace
from unittest import TestCase

from world.cli import GAME_DIR
from world.settingscheck import EVENNIA_DEFAULT_SECRET_KEY, check_settings


def safe(**overrides):
    values = dict(DEBUG=False, IN_GAME_ERRORS=False, ALLOWED_HOSTS=["timmy.example"], TIMMY_BIND_INTERFACE="0.0.0.0",
                  SECRET_KEY="a-long-random-key-nobody-committed", NEW_ACCOUNT_REGISTRATION_ENABLED=False,
                  GITEA_URL="", GITEA_TOKEN="", TIMMY_STATUS_PUBLIC=False)
    values.update(overrides)
    return SimpleNamespace(**values)


class SettingsCheckTests(TestCase):
    def settings_named(self, **overrides):
        return [warning.setting for warning in check_settings(safe(**overrides))]

    def test_safe_settings_pass(self):
        self.assertEqual(check_settings(safe()), [])

    def test_each_unsafe_setting_is_named(self):
        cases = {
            "DEBUG": {"DEBUG": True},
            "IN_GAME_ERRORS": {"IN_GAME_ERRORS": True},
            "ALLOWED_HOSTS": {"ALLOWED_HOSTS": ["*"]},
            "SECRET_KEY": {"SECRET_KEY": EVENNIA_DEFAULT_SECRET_KEY},
            "NEW_ACCOUNT_REGISTRATION_ENABLED": {"NEW_ACCOUNT_REGISTRATION_ENABLED": True},
            "GITEA_TOKEN": {"GITEA_URL": "http://forge:3000"},
            "TIMMY_STATUS_PUBLIC": {"TIMMY_STATUS_PUBLIC": True},
        }
        for setting, overrides in cases.items():
            with self.subTest(setting=setting):
                self.assertEqual(self.settings_named(**overrides), [setting])

    def test_any_host_is_fine_on_loopback(self):
        self.assertEqual(self.settings_named(ALLOWED_HOSTS=["*"], TIMMY_BIND_INTERFACE="127.0.0.1",
                                             TIMMY_STATUS_PUBLIC=True), [])

    def test_a_committed_secret_key_is_found(self):
        with tempfile.TemporaryDirectory() as repo:
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            with open(os.path.join(repo, "settings.py"), "w") as handle:
                handle.write('SECRET_KEY = "a-long-random-key-nobody-committed"\n')
            subprocess.run(["git", "add", "settings.py"], cwd=repo, check=True)
            warnings = check_settings(safe(), repo)
        self.assertEqual([w.setting for w in warnings], ["SECRET_KEY"])
        self.assertIn("committed to git (settings.py)", str(warnings[0]))

    def test_the_cli_exits_one_and_shouts(self):
        env = dict(os.environ, TIMMY_OPEN_REGISTRATION="1", TIMMY_BIND_INTERFACE="127.0.0.1")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        result = subprocess.run([sys.executable, os.path.join(GAME_DIR, "bin", "timmy"), "check-settings"],
                                cwd=GAME_DIR, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("!! Settings check: 1 unsafe setting(s)", result.stdout)
        self.assertIn("NEW_ACCOUNT_REGISTRATION_ENABLED", result.stdout)
