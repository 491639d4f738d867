"""
Accounts.

An Account is the login (operator or agent); it puppets one Character.
"""

from evennia.accounts.accounts import DefaultAccount, DefaultGuest
from evennia.utils import logger

from world.passwords import prehashed_for

from .attributestore import OneSaveAttributesMixin
from .lockeval import QuickLocksMixin


class Account(QuickLocksMixin, OneSaveAttributesMixin, DefaultAccount):
    """An operator's or an agent's login."""

    def set_password(self, password, **kwargs):
        """Evennia's `set_password`, without hashing again a password hashed off the reactor.

        Inside `world.passwords.prehashed(password, encoded)` the hash made in
        a worker thread is stored; the security log line and the
        `at_password_change` hook are Evennia's, as in its own method.
        """
        encoded = prehashed_for(password)
        if encoded is None:
            return super().set_password(password, **kwargs)
        self.password, self._password = encoded, password  # what Django's set_password stores
        logger.log_sec(f"Password successfully changed for {self}.")
        self.at_password_change()
        return None

    def create_character(self, *args, **kwargs):
        """Create this account's character, starting (and homed) at the hub.

        New characters start at The Hearth rather than Limbo. Before the world
        is built (no hub yet) Evennia's START_LOCATION is used. A character
        holds only Player permission unless told otherwise, so an operator who
        `quell`s acts as a player (quelling uses the lower of the two).
        """
        from world.builder import find_hub

        kwargs.setdefault("permissions", ["Player"])
        if "location" not in kwargs:
            hub = find_hub()
            if hub:
                kwargs["location"] = hub
                kwargs.setdefault("home", hub)
        return super().create_character(*args, **kwargs)


class Guest(DefaultGuest):
    """Guest logins (disabled in settings)."""
