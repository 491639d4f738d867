#!/usr/bin/env python3
"""
Backup throughput: our online backup next to the sqlite3 tool's `.backup`.

Generates a large SQLite database in WAL mode in a temporary folder, then
times, on the same file with a warm page cache:

    ours: copy      world.backup.sqlitecopy.online_copy (the database snapshot,
                    with the row counts taken in the snapshot and in the copy)
    ours: backup    world.backup.create.create_backup (snapshot + SHA-256 + manifest + fsyncs)
    sqlite3 .backup the sqlite3 command-line tool's `.backup` of the same file

and prints seconds, MB/s and the ratio of each to sqlite3's `.backup`
(ratio > 1 means ours is slower). Without the sqlite3 tool (Debian package
`sqlite3`) only our numbers are printed.

    .venv/bin/python bench/backup_throughput.py [--size-mb 200] [--runs 3] [--step-pages 1024]

This is a benchmark, not a test: the suite never runs it.
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from world.backup.config import BackupConfig  # noqa: E402
from world.backup.create import create_backup  # noqa: E402
from world.backup.fsutil import remove_tree  # noqa: E402
from world.backup.sqlitecopy import online_copy  # noqa: E402

ROW_BYTES = 1000
ROWS_PER_BATCH = 5000


def generate_database(path, size_mb):
    """A WAL-mode database of about `size_mb` MB: a table of random blobs and an index."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE bulk (id INTEGER PRIMARY KEY, kind INTEGER, payload BLOB)")
    conn.execute("CREATE INDEX bulk_kind ON bulk (kind)")
    target = size_mb * 1_000_000
    while _database_bytes(conn) < target:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO bulk (kind, payload) SELECT abs(random()) % 100, randomblob(?) FROM n",
            (ROWS_PER_BATCH, ROW_BYTES),
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _database_bytes(conn):
    return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]


def _size(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def warm(path):
    """Read the file once so every method starts with the same (warm) page cache."""
    with open(path, "rb") as handle:
        while handle.read(1 << 20):
            pass


def time_ours_copy(source, scratch, step_pages):
    target = os.path.join(scratch, "copy.sqlite3")
    started = time.perf_counter()
    online_copy(source, target, step_pages)
    elapsed = time.perf_counter() - started
    os.remove(target)
    return elapsed


def time_ours_backup(source, scratch, step_pages):
    config = BackupConfig(backup_dir=os.path.join(scratch, "backups"), database_path=source,
                          game_dir=scratch, include=(), min_free_bytes=0, step_pages=step_pages)
    started = time.perf_counter()
    entry = create_backup(config)
    elapsed = time.perf_counter() - started
    remove_tree(entry.path)
    return elapsed


def time_sqlite3_cli(tool, source, scratch):
    target = os.path.join(scratch, "cli.sqlite3")
    started = time.perf_counter()
    subprocess.run([tool, source, f".backup '{target}'"], check=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    os.remove(target)
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="database size to generate (MB)")
    parser.add_argument("--runs", type=int, default=3, help="runs per method (the median is shown)")
    parser.add_argument("--step-pages", type=int, default=1024, help="pages per step of our online copy")
    parser.add_argument("--dir", default=None, help="where to work (default: a temporary folder)")
    args = parser.parse_args(argv)

    scratch = tempfile.mkdtemp(prefix="timmy-backup-bench-", dir=args.dir)
    try:
        source = os.path.join(scratch, "world.db3")
        print(f"Generating a {args.size_mb} MB database in {scratch} ...", flush=True)
        generate_database(source, args.size_mb)
        size_mb = _size(source) / 1_000_000
        tool = shutil.which("sqlite3")
        methods = {
            "ours: copy": lambda: time_ours_copy(source, scratch, args.step_pages),
            "ours: backup": lambda: time_ours_backup(source, scratch, args.step_pages),
        }
        if tool:
            methods["sqlite3 .backup"] = lambda: time_sqlite3_cli(tool, source, scratch)
        timings = {name: [] for name in methods}
        for _ in range(max(1, args.runs)):
            for name, run in methods.items():
                warm(source)
                timings[name].append(run())
        report(size_mb, {name: statistics.median(values) for name, values in timings.items()}, tool)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def report(size_mb, medians, tool):
    """Print one line per method: seconds, MB/s and the ratio to sqlite3's .backup."""
    baseline = medians.get("sqlite3 .backup")
    print(f"\nDatabase: {size_mb:.1f} MB (median of the runs, warm page cache)")
    print(f"{'method':<16} {'seconds':>8} {'MB/s':>8} {'vs sqlite3':>11}")
    for name, seconds in medians.items():
        ratio = f"{seconds / baseline:.2f}x" if baseline else "-"
        print(f"{name:<16} {seconds:>8.2f} {size_mb / seconds:>8.1f} {ratio:>11}")
    if not tool:
        print("\nThe sqlite3 command-line tool is not installed (Debian: apt-get install sqlite3), "
              "so there is no comparison; only our numbers are shown.")


if __name__ == "__main__":
    sys.exit(main())
