"""
Warnings about settings that are unsafe in production.

Run by `bin/timmy run` before every start (printed loudly, the world still
starts) and on demand with `bin/timmy check-settings` (exit 1 when there is
anything to fix). Each check is a small function of the settings object, so
tests can feed it any settings.
"""

import os
import subprocess
from dataclasses import dataclass

EVENNIA_DEFAULT_SECRET_KEY = "changeme!(*#&*($&*(#*(&SDFKJJKLS*(@#KJAS"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SettingWarning:
    """One unsafe setting and what to do about it."""

    setting: str
    message: str

    def __str__(self):
        return f"{self.setting}: {self.message}"


def check_settings(settings, game_dir=None):
    """Every warning for these settings, in a stable order."""
    warnings = []
    for check in CHECKS:
        warning = check(settings, game_dir)
        if warning:
            warnings.append(warning)
    return warnings


def _debug(settings, game_dir):
    if getattr(settings, "DEBUG", False):
        return SettingWarning("DEBUG", "is on: tracebacks and settings are shown to web visitors. Turn it off.")


def _in_game_errors(settings, game_dir):
    if getattr(settings, "IN_GAME_ERRORS", False):
        return SettingWarning("IN_GAME_ERRORS", "is on: players see tracebacks. Set it to False.")


def _allowed_hosts(settings, game_dir):
    hosts = list(getattr(settings, "ALLOWED_HOSTS", []))
    interface = getattr(settings, "TIMMY_BIND_INTERFACE", "0.0.0.0")
    if "*" in hosts and interface not in LOOPBACK:
        return SettingWarning(
            "ALLOWED_HOSTS", f"is ['*'] while the world listens on {interface}: any Host header is "
            "accepted. Set TIMMY_ALLOWED_HOSTS to the names operators use (or bind to 127.0.0.1).")


def _secret_key(settings, game_dir):
    key = getattr(settings, "SECRET_KEY", "")
    if not key or key == EVENNIA_DEFAULT_SECRET_KEY:
        return SettingWarning("SECRET_KEY", "is Evennia's default: anyone can forge sessions. "
                                            "Let `bin/timmy setup` write server/conf/secret_settings.py.")
    committed = _committed_files_containing(key, game_dir)
    if committed:
        return SettingWarning("SECRET_KEY", f"is committed to git ({', '.join(committed)}): make a new one "
                                            "in server/conf/secret_settings.py, which git ignores.")


def _registration(settings, game_dir):
    if getattr(settings, "NEW_ACCOUNT_REGISTRATION_ENABLED", False):
        return SettingWarning("NEW_ACCOUNT_REGISTRATION_ENABLED", "is on (TIMMY_OPEN_REGISTRATION): anyone "
                                                                  "who reaches the world can make an account.")


def _gitea_token(settings, game_dir):
    if getattr(settings, "GITEA_URL", "") and not getattr(settings, "GITEA_TOKEN", ""):
        return SettingWarning("GITEA_TOKEN", "is missing while GITEA_URL is set: level-3 escalations cannot "
                                             "reach the humans. Put it in secret_settings.py.")


def _status_public(settings, game_dir):
    interface = getattr(settings, "TIMMY_BIND_INTERFACE", "0.0.0.0")
    if getattr(settings, "TIMMY_STATUS_PUBLIC", False) and interface not in LOOPBACK:
        return SettingWarning("TIMMY_STATUS_PUBLIC", f"is on while the world listens on {interface}: "
                                                     "the fleet's state is readable by anyone.")


def _committed_files_containing(text, game_dir):
    """Git-tracked files of the game directory that contain `text` (empty if no git)."""
    if not game_dir or not os.path.isdir(os.path.join(game_dir, ".git")):
        return []
    try:
        result = subprocess.run(["git", "grep", "-l", "-F", "-e", text], cwd=game_dir, capture_output=True,
                                text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in result.stdout.splitlines() if line][:3]


CHECKS = (_debug, _in_game_errors, _allowed_hosts, _secret_key, _registration, _gitea_token, _status_public)
