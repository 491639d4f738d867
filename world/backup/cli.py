"""
The backup CLI: the same operations as `@backup`, for cron, systemd and
operators, outside the game.

    backup [--no-verify]         make a backup now (and verify it)
    list [--json]                every backup: id, time, size, verified, drill
    verify [ID|latest]           re-hash against the manifest, integrity_check, row counts
    drill [ID|latest]            restore into a scratch folder, check the world, clean up
    restore ID|latest [--files]  put a backup back (server stopped; verifies first)
    prune [--dry-run]            delete what retention does not keep

`add_parsers(subparsers)` registers these on world/cli.py's parser (bin/timmy);
`python -m world.backup.cli <subcommand>` runs them on their own. Exit codes
(the same values as world/cli.py):

    0  done    1  the operation failed (or a backup failed verification)
    2  bad usage or input (malformed or unknown id)
    3  refused because the server is running (restore)
"""

import argparse
import json
import sys

from world.backup.errors import (
    EXIT_FAILED, EXIT_OK, EXIT_SERVER_RUNNING, EXIT_USAGE, BackupError,
)

__all__ = ["add_parsers", "main", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_SERVER_RUNNING"]


def add_parsers(subparsers):
    """Register backup, list, verify, drill, restore and prune on an argparse subparsers object."""
    backup = subparsers.add_parser("backup", help="make a backup of the live world now (and verify it)")
    backup.add_argument("--no-verify", action="store_true", help="do not verify the new backup")
    backup.set_defaults(func=cmd_backup)

    listing = subparsers.add_parser("list", help="list the backups: id, time, size, verified, drill")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    verify = subparsers.add_parser("verify", help="re-hash a backup, integrity_check, row counts")
    verify.add_argument("id", nargs="?", default="latest", help="backup id or 'latest' (default)")
    verify.set_defaults(func=cmd_verify)

    drill = subparsers.add_parser("drill", help="DR test: restore into a scratch folder and check it")
    drill.add_argument("id", nargs="?", default="latest", help="backup id or 'latest' (default)")
    drill.set_defaults(func=cmd_drill)

    restore = subparsers.add_parser("restore", help="restore a backup (server stopped; verifies first)")
    restore.add_argument("id", help="backup id or 'latest'")
    restore.add_argument("--files", action="store_true",
                         help="also restore configuration, secrets and agent data")
    restore.set_defaults(func=cmd_restore)

    prune = subparsers.add_parser("prune", help="delete the backups retention does not keep")
    prune.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    prune.set_defaults(func=cmd_prune)
    return subparsers


def _operation(func):
    """Run a subcommand: load the config, map errors to messages and exit codes."""

    def run(args):
        from world.backup.config import BackupConfigError, load_config

        try:
            return func(args, load_config())
        except BackupConfigError as err:
            print(f"Backup settings are invalid: {err}", file=sys.stderr)
            return EXIT_USAGE
        except BackupError as err:
            print(str(err), file=sys.stderr)
            return err.exit_code
        except OSError as err:
            print(f"The {func.__name__[4:]} failed: {err}", file=sys.stderr)
            return EXIT_FAILED

    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def _printer(label):
    from world.backup.report import ProgressText

    text = ProgressText(label)

    def progress(stage, done, total):
        line = text(stage, done, total)
        if line:
            print(line, flush=True)

    return progress


@_operation
def cmd_backup(args, config):
    """Make a backup (and verify it unless --no-verify)."""
    import time

    from world.backup.create import create_backup
    from world.backup.jobs import BackupOutcome
    from world.backup.report import backup_done_text
    from world.backup.verify import verify_backup

    started = time.monotonic()
    progress = _printer("Backup")
    entry = create_backup(config, progress=progress)
    outcome = BackupOutcome(entry, round(time.monotonic() - started, 3))
    if not args.no_verify:
        outcome.verify = verify_backup(config, entry.id, progress)
    print(backup_done_text(outcome))
    return EXIT_OK if outcome.verify is None or outcome.verify.ok else EXIT_FAILED


@_operation
def cmd_list(args, config):
    """List the backups."""
    from world.backup import store
    from world.backup.report import list_lines

    entries = store.scan(config)
    if args.json:
        print(json.dumps([_entry_json(entry) for entry in entries], indent=2))
    else:
        print("\n".join(list_lines(entries)))
    return EXIT_OK


def _entry_json(entry):
    return {
        "id": entry.id, "valid": entry.valid, "problem": entry.problem, "created": entry.created,
        "size": entry.size, "verified": entry.verified, "verify": entry.verify, "drill": entry.drill,
    }


@_operation
def cmd_verify(args, config):
    """Verify a backup."""
    from world.backup.report import verify_lines
    from world.backup.verify import verify_backup

    result = verify_backup(config, args.id, _printer("Verify"))
    print("\n".join(verify_lines(result)))
    return EXIT_OK if result.ok else EXIT_FAILED


@_operation
def cmd_drill(args, config):
    """Run a DR drill."""
    from world.backup.drill import drill_backup
    from world.backup.report import drill_lines

    result = drill_backup(config, args.id, _printer("Drill"))
    print("\n".join(drill_lines(result)))
    return EXIT_OK if result.ok else EXIT_FAILED


@_operation
def cmd_restore(args, config):
    """Restore a backup over the live database (the server must be stopped)."""
    from django.db import connections

    from world.backup.report import restore_lines
    from world.backup.restore import restore_backup

    connections.close_all()
    report = restore_backup(config, args.id, with_files=args.files)
    print("\n".join(restore_lines(report)))
    return EXIT_OK


@_operation
def cmd_prune(args, config):
    """Delete what retention does not keep."""
    from world.backup.report import prune_lines
    from world.backup.retention import prune

    report = prune(config, dry_run=args.dry_run)
    print("\n".join(prune_lines(report)))
    return EXIT_OK


def build_parser():
    """A parser with just the backup subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m world.backup.cli",
        description="Timmy World backups: make, list, verify, drill, restore, prune.")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv=None):
    """Parse, set up Django (no server), run one subcommand, return its exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    from world.cli import setup_django

    setup_django()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
