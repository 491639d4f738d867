"""
Backups that can be trusted: make, verify, drill, restore, retain.

The modules, from the bottom up (none of them uses the Django ORM; only
`config.load_config()` reads Django settings, and `jobs` needs Twisted):

    config.py     the BACKUP_* settings, read once into a BackupConfig
    errors.py     BackupError and friends, each with its CLI exit code
    ids.py        backup ids (20261124T051500Z), strictly validated
    fsutil.py     private (0700/0600), durable, atomic files; the backup lock
    sqlitecopy.py the consistent online copy of the live SQLite database
    manifest.py   the self-checksummed manifest of SHA-256 hashes
    records.py    sidecar records beside the manifest: verify.json, drill.json
    store.py      the catalogue: which backups exist, `latest`, lookup by id
    create.py     making a backup (atomic: .partial-<id> renamed to <id>)
    verify.py     re-hash, integrity_check, row counts
    restore.py    restore (CLI only, server stopped) and the shared install steps
    drill.py      the DR drill: restore into a scratch folder and check the world
    retention.py  keep N daily / M weekly, never the newest verified; prune
    schedule.py   when the daily backup is due
    health.py     backup_health() for @status and the heartbeat
    units.py      sizes and durations as text
    report.py     results as text (the command and the CLI print the same)
    jobs.py       in-server runners: worker threads, progress on the reactor
    cli.py        the CLI subcommands (add_parsers, python -m world.backup.cli)

Decisions:
    - One backup = one folder `<BACKUP_DIR>/<id>/` (layout in store.py); the
      manifest is written last and never changed; a folder without a valid
      manifest is not a backup.
    - Results that come later (verified, drill) live in sidecar JSON files in
      that folder (records.py), shared by the server and the CLI.
    - Secrets (server/conf/secret_settings.py) are included, so a restore on a
      new machine has the SECRET_KEY and tokens: BACKUP_DIR and every backup
      folder are 0700, every file 0600.
"""


def backup_health(config=None, now=None):
    """The backups as one service: see world/backup/health.py."""
    from world.backup.health import backup_health as health

    return health(config=config, now=now)
