"""
Reopen the database in the daemonized Server process.

Why: `twistd` imports Evennia's `server.py` (which sets Django up and reads
the database) before it daemonizes, then forks twice. POSIX record locks
belong to a process and are not inherited across `fork`, so the Server
that runs is left with SQLite connections whose locks died with its
parent. In WAL mode those locks are how other processes know the Server
still has the database open: without them, the next `bin/timmy` command
(heartbeat, backup, preflight) or `evennia` launcher call that closes its
own connection believes it is the last one, checkpoints and deletes the
`-wal` and `-shm` files, and everything the Server writes afterwards goes
into an unlinked file: gone at the next reload. (Seen here: an incident
opened in game vanished across `@reload` after a CLI run.)

How: `reopen()` closes every Django connection of this process. The plugin
hook that calls it runs in `privilegedStartService`, after twistd has
daemonized, so the next query opens a fresh connection that takes its locks
in the process that keeps them. Closing is harmless when nothing forked
(`--nodaemon`, tests): Django reconnects on the next query.
"""

from django.db import connections


def reopen():
    """Close every database connection; Django reopens them on next use."""
    connections.close_all()
