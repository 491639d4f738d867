"""
What can go wrong with a backup operation, each with the CLI exit code it maps to.

Messages are written for an operator and never echo raw user input (the
command and the CLI quote input themselves, cleaned), so they are safe to show
in game as they are.
"""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SERVER_RUNNING = 0, 1, 2, 3


class BackupError(Exception):
    """A backup operation failed; nothing final was left half-written."""

    exit_code = EXIT_FAILED


class BackupInputError(BackupError):
    """The request itself was wrong: a malformed id, or an unknown one."""

    exit_code = EXIT_USAGE


class BackupNotFound(BackupInputError):
    """No backup with that id (or no backup at all for `latest`)."""


class BackupBusy(BackupError):
    """Another backup, prune or restore holds the backup lock."""


class ServerRunning(BackupError):
    """A restore was refused because the server is running."""

    exit_code = EXIT_SERVER_RUNNING
