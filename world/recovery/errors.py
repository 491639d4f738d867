"""
Recovery errors: each message is meant for the person who asked.
"""


class RecoveryError(ValueError):
    """A recovery request that cannot be done; the message says why."""


class RecoveryBusy(RecoveryError):
    """A run of the same scenario is already under way."""


class ConfirmError(RecoveryError):
    """A confirmation code that is wrong, expired or someone else's."""
