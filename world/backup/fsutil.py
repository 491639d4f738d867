"""
Files the backup system writes: private, durable, atomic.

Every folder is 0700 and every file 0600 (a backup holds the SECRET_KEY and
tokens). "Durable" means fsync on the file and on the folder that names it;
"atomic" means written under a temporary name and renamed into place.

`BackupLock` is the one lock for operations that write in the backup folder
(backup, prune, restore): an exclusive `flock` on `<BACKUP_DIR>/.lock`. The
kernel releases it when the holder dies, so a killed backup never leaves the
lock stuck; two holders in one process conflict too, so it also refuses a
second in-game backup.
"""

import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time

from world.backup.errors import BackupBusy, BackupError

CHUNK = 1 << 20
LOCK_NAME = ".lock"


def ensure_private_dir(path):
    """Create `path` (and parents) if needed and make it 0700."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def make_private_dirs(root, folder):
    """Create `folder` and any missing folders between it and `root`, each 0700."""
    ensure_private_dir(root)
    missing = []
    while os.path.abspath(folder) != os.path.abspath(root) and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)


def fsync_dir(path):
    """Flush a folder's entries (new, renamed or removed names) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root):
    """Flush the entries of `root` and of every folder below it."""
    for folder, _dirs, _files in os.walk(root, topdown=False):
        fsync_dir(folder)


def write_private(path, data):
    """Write bytes to `path` atomically: temp name, fsync, rename, fsync folder."""
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(path) or ".")


def write_json_private(path, value):
    """Write `value` as JSON, atomically and privately."""
    write_private(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path):
    """Parse a JSON file; None if missing or not valid JSON."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def sha256_file(path):
    """Hex SHA-256 of a file's contents."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_private(source, target):
    """Copy a file to a new private (0600) file, fsynced.

    Returns:
        tuple: (sha256 hex, size in bytes) of what was written.
    """
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        for block in iter(lambda: src.read(CHUNK), b""):
            dst.write(block)
            digest.update(block)
            size += len(block)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def fsync_file(path):
    """Flush one file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_bytes(path):
    """Bytes available to this user on the filesystem holding `path`."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def tree_size(path):
    """Total bytes of the regular files under `path` (or of the file itself)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def remove_tree(path):
    """Delete a folder and everything in it; missing is fine."""
    shutil.rmtree(path, ignore_errors=True)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def describe_os_error(err):
    """A short operator-facing reason for an OSError (disk full, permission, ...)."""
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the backup disk is full (or a file size limit was hit)"
    if getattr(err, "errno", None) in (errno.EACCES, errno.EPERM):
        return f"permission denied: {err.filename or ''}".strip()
    return err.strerror or str(err)


class BackupLock:
    """Exclusive lock on the backup folder for one operation.

    Use as a context manager, or call `acquire()` / `release()` when the lock
    is taken on one thread and released on another (the in-game backup takes
    it on the reactor thread to refuse a second backup at once, and its
    worker thread releases it).
    """

    def __init__(self, backup_dir, operation="backup"):
        self.backup_dir = backup_dir
        self.operation = operation
        self.path = os.path.join(backup_dir, LOCK_NAME)
        self.fd = None

    def acquire(self):
        """Take the lock or raise BackupBusy naming the holder."""
        ensure_private_dir(self.backup_dir)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BackupBusy(self._busy_message()) from None
        except OSError as err:
            os.close(fd)
            raise BackupError(f"Cannot lock the backup folder: {describe_os_error(err)}") from err
        holder = {"pid": os.getpid(), "operation": self.operation, "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self.fd = fd
        return self

    def release(self):
        """Let go of the lock (closing the file releases the flock)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    @property
    def held(self):
        """True while this object holds the lock."""
        return self.fd is not None

    def __enter__(self):
        return self.acquire() if not self.held else self

    def __exit__(self, *exc):
        self.release()

    def _busy_message(self):
        holder = read_json(self.path) or {}
        what = holder.get("operation", "backup operation")
        since = holder.get("since")
        when = f", started {time.strftime('%H:%M:%S', time.gmtime(since))} UTC" if since else ""
        pid = f" (pid {holder['pid']}{when})" if holder.get("pid") else ""
        return f"Another {what} is running{pid}; try again when it is done."
