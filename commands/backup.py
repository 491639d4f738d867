"""
`@backup`: make, list, verify and drill backups of the world (The Vault).

The work is in world/backup/; this command parses, starts one job (in a
worker thread, see world/backup/jobs.py) and reports what comes back.
Restoring is CLI-only (the server must be stopped for it).
"""

from world.backup import jobs
from world.backup.config import BackupConfigError
from world.backup.errors import BackupBusy, BackupError
from world.backup.ids import ID_EXAMPLE, LATEST, is_valid_id
from world.backup.report import backup_done_text, drill_lines, list_lines, verify_lines
from world.presentation import plain_text

from .command import Command


class CmdBackup(Command):
    """
    Make, list, verify and drill backups of the world.

    Usage:
      @backup
      @backup/list
      @backup/verify <id>|latest
      @backup/drill [<id>|latest]

    Switches:
      list   - every backup: id, when, size, verified or not, last drill
      verify - re-hash a backup against its manifest, run integrity_check
               on its database and compare the row counts it recorded
      drill  - disaster-recovery test: restore a backup (latest by default)
               into a scratch folder, check the world is in it, clean up

    @backup takes a consistent snapshot of the live database while the world
    keeps running, plus the configuration (secrets included) and the agents'
    data, writes a manifest of SHA-256 hashes last and then verifies the
    backup. Only one backup runs at a time. Restoring is done outside the
    game with the server stopped: bin/timmy restore <id>.

    Examples:
      @backup
      @backup/list
      @backup/verify latest
      @backup/drill 20261124T051500Z
    """

    key = "@backup"
    aliases = ["backup"]
    switch_options = ("list", "verify", "drill")
    locks = "cmd:perm(Builder)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        if len(self.switches) > 1:
            self.refuse(f"Use one switch at a time. {self.usage()}")
        self.action = self.switches[0].lower() if self.switches else "backup"
        text = self.args.strip()
        if self.action in ("backup", "list"):
            if text:
                self.refuse(self.usage())
            self.backup_id = None
            return
        if not text and self.action == "verify":
            self.refuse(f"Which backup? Give its id or 'latest'. {self.usage()}")
        self.backup_id = text or LATEST
        if self.backup_id != LATEST and not is_valid_id(self.backup_id):
            self.refuse(f"'{plain_text(self.backup_id, 40)}' is not a backup id "
                        f"(ids look like {ID_EXAMPLE}, or use 'latest').")

    def func(self):
        handlers = {"backup": self.start_backup, "list": self.show_list,
                    "verify": self.start_verify, "drill": self.start_drill}
        handlers[self.action]()

    def start_backup(self):
        jobs.start_backup(notify=self.tell).addCallbacks(
            lambda outcome: self.tell(backup_done_text(outcome), not outcome.verify or outcome.verify.ok),
            self.failed, errbackArgs=("backup",))

    def show_list(self):
        jobs.start_list().addCallbacks(lambda entries: self.tell("\n".join(list_lines(entries))),
                                       self.failed, errbackArgs=("list",))

    def start_verify(self):
        self.tell(f"Verifying backup {self.backup_id} ...")
        jobs.start_verify(self.backup_id, notify=self.tell).addCallbacks(
            lambda result: self.tell("\n".join(verify_lines(result)), result.ok),
            self.failed, errbackArgs=("verify",))

    def start_drill(self):
        self.tell(f"Drill of backup {self.backup_id} started (restore into a scratch folder) ...")
        jobs.start_drill(self.backup_id, notify=self.tell).addCallbacks(
            lambda result: self.tell("\n".join(drill_lines(result)), result.ok),
            self.failed, errbackArgs=("drill",))

    def tell(self, text, ok=True):
        """Send backup text (escaped: it may hold file names) to the caller."""
        escaped = text.replace("|", "||")
        self.caller.msg(escaped if ok else f"|r{escaped}|n")

    def failed(self, failure, what):
        """Report a failed job; the job already logged it."""
        if failure.check(BackupBusy):
            self.tell(f"Refused: {failure.getErrorMessage()}", ok=False)
        elif failure.check(BackupError, BackupConfigError):
            self.tell(failure.getErrorMessage(), ok=False)
        else:
            self.tell(f"The {what} failed unexpectedly; the error is in the server log.", ok=False)
