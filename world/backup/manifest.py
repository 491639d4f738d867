"""
The manifest: what a backup holds, with a SHA-256 hash of every file.

`manifest.json` is the last file written into a backup, just before the
folder is renamed to its final name, and it is never changed afterwards. It
seals itself: `checksum` is the SHA-256 of the rest of the manifest in
canonical JSON, so a flipped byte anywhere in it is caught. A folder whose
manifest is missing, unreadable or fails its checksum is not a backup.

Results that come later (verification, drills) live in sidecar files beside
it; see world/backup/records.py.
"""

import hashlib
import json
import os
import posixpath

from world.backup.fsutil import read_json, write_json_private

MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "database.sqlite3"
FILES_DIR = "files"
FORMAT = 1
REQUIRED = ("format", "id", "created_unix", "database", "files", "checksum")


def canonical_checksum(body):
    """SHA-256 of a manifest body (without its checksum) in canonical JSON."""
    body = {key: value for key, value in body.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def seal(body):
    """Return the manifest: `body` plus its checksum."""
    return dict(body, checksum=canonical_checksum(body))


def write_manifest(folder, manifest):
    """Write the sealed manifest into a backup folder (durably)."""
    write_json_private(os.path.join(folder, MANIFEST_NAME), manifest)


def safe_member(path):
    """True if a manifest path stays inside the backup (no absolute path, no '..')."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        return False
    norm = posixpath.normpath(path)
    if norm != path or norm.startswith("../") or norm == "..":
        return False
    return norm == DATABASE_NAME or norm.startswith(FILES_DIR + "/")


def load_manifest(folder, backup_id):
    """Read and check a backup's manifest.

    Returns:
        tuple: (manifest dict, None) if valid, or (None, why it is not).
    """
    path = os.path.join(folder, MANIFEST_NAME)
    if not os.path.exists(path):
        return None, "no manifest (the backup never finished)"
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        return None, "the manifest is not valid JSON"
    missing = [key for key in REQUIRED if key not in manifest]
    if missing:
        return None, f"the manifest lacks {', '.join(missing)}"
    if manifest.get("checksum") != canonical_checksum(manifest):
        return None, "the manifest fails its own checksum (it was changed or damaged)"
    if manifest.get("id") != backup_id:
        return None, "the manifest belongs to another backup"
    problem = _check_files(manifest.get("files"))
    if problem:
        return None, problem
    return manifest, None


def _check_files(files):
    if not isinstance(files, list) or not files:
        return "the manifest lists no files"
    for entry in files:
        if not isinstance(entry, dict) or not safe_member(entry.get("path")):
            return "the manifest names a file outside the backup"
        if not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("size"), int):
            return "the manifest has a file without hash or size"
    if DATABASE_NAME not in [entry["path"] for entry in files]:
        return "the manifest has no database"
    return None
