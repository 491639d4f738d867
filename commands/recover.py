"""
`@recover` and `@confirm`: the recovery playbooks in game.

Thin: parse and validate, call one function of world.recovery.api, report.
A run streams its progress to the caller as it happens; the command returns
at once.
"""

from world.heartbeat.liveness import AGENT_TAG, AGENT_TAG_CATEGORY
from world.plaintext import is_number
from world.recovery import api, playbooks
from world.recovery.confirm import CODE_PATTERN
from world.recovery.errors import RecoveryError

from .command import Command

HISTORY_ID_DIGITS = 9


def operator_of(command):
    """The Operator behind a command: name, identity, Admin or not, agent or person."""
    caller = command.caller
    account = getattr(caller, "account", None)
    ident = f"account:{account.id}" if account else f"object:{caller.id}"
    is_agent = bool(caller.tags.has(AGENT_TAG, category=AGENT_TAG_CATEGORY))
    return api.Operator(caller.key, ident, command.access(caller, "destructive"), "agent" if is_agent else "manual")


class CmdRecover(Command):
    """
    Run a recovery playbook, see what one would do, or read the history.

    Usage:
      @recover
      @recover <scenario> [<target>]
      @recover/dry <scenario> [<target>]
      @recover/history [<run>]

    Switches:
      dry     - show every step the playbook would take; changes nothing
      history - the latest runs; with a run number, every step of that run
                (argv, exit code, duration, output digest)

    Scenarios:
      agent [<name>]   complete agent failure: restart its process, verify it is back
      ollama           restart Ollama, wait for /api/version, check the model
      gitea            restart Gitea, verify the API, flush the escalation outbox
      orphan [<child>] autonomy mode, re-link with the parent when reachable
      infra [<backup>] the guided rebuild plan (the restore needs the server stopped)

    @recover alone lists the scenarios and whether each applies now. A step
    that would interrupt something that works (restarting a service that is
    up, or an agent that answers) is destructive: only an Admin may run it,
    and must confirm it with @confirm <code> within a minute. One run per
    scenario at a time. The result is noted on the service's open incident,
    which is resolved when the check after is green, or escalated if not.

    Examples:
      @recover
      @recover/dry ollama
      @recover agent Allegro-Primus
      @recover/history 12
    """

    key = "@recover"
    aliases = ["recover"]
    switch_options = ("dry", "history")
    locks = "cmd:perm(Helper);destructive:perm(Admin)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        if len(self.switches) > 1:
            self.refuse(f"Use one switch at a time. {self.usage()}")
        self.action = self.switches[0].lower() if self.switches else "run"
        text = self.args.strip()
        self.scenario = self.target = self.run_id = None
        if self.action == "history":
            self.run_id = self._run_id(text)
        elif text or self.action == "dry":
            try:
                self.scenario, self.target = playbooks.parse_request(text)
            except RecoveryError as err:
                self.refuse(str(err))

    def _run_id(self, text):
        run_id = text.lstrip("#")
        if run_id and (not is_number(run_id) or len(run_id) > HISTORY_ID_DIGITS):
            self.refuse(f"A run is a number, as @recover/history lists them. {self.usage()}")
        return run_id or None

    def func(self):
        try:
            if self.action == "history":
                self.msg(api.history_text(self.run_id))
            elif self.action == "dry":
                self.msg(api.dry_run_text(self.scenario, self.target))
            elif self.scenario is None:
                self.msg(api.overview_text())
            else:
                reply = api.request(self.scenario, self.target, operator_of(self), self.caller.msg)
                if reply:
                    self.msg(reply)
        except RecoveryError as err:
            self.msg(f"|r{err}|n")


class CmdConfirm(Command):
    """
    Confirm a destructive recovery you asked for.

    Usage:
      @confirm <code>

    @recover gives the code when a playbook would interrupt something that
    works. Only the operator who asked can confirm it, within the time limit
    (a minute); a wrong, expired or someone else's code does nothing.

    Examples:
      @confirm K7Q2XM
    """

    key = "@confirm"
    aliases = ["confirm"]
    locks = "cmd:perm(Helper);destructive:perm(Admin)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.code = self.args.strip()
        if not CODE_PATTERN.match(self.code):
            self.refuse(f"Give the code @recover gave you. {self.usage()}")

    def func(self):
        try:
            api.confirm_run(self.code, operator_of(self), self.caller.msg)
        except RecoveryError as err:
            self.msg(f"|r{err}|n")
