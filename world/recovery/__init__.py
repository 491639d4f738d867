"""
Recovery playbooks: the seed's emergency procedures (recover-ollama.sh,
auto-heal.sh, failover-to-backup.sh) as in-game operations.

The modules, from the bottom up:

    config.py       RECOVERY_* settings; the command allowlist (argv templates,
                    `{target}` validated before substitution)
    errors.py       RecoveryError, RecoveryBusy, ConfirmError
    process.py      run one command: no shell, own process group killed at the
                    timeout, output bounded and hashed
    toolkit.py      the clock, probe and runners a run uses (swappable in tests);
                    wait_until (poll to a deadline)
    steps.py        the Step base; probe, command, wait-until-healthy, note, escalate
    servicesteps.py the agents' model on Ollama, agents' modes, the Gitea outbox
    agentsteps.py   check, restart and wait for an agent; autonomy/relink; orphan wait
    infrasteps.py   the latest verified backup and the rebuild plan
    agentops.py     agents' health, sessions, pid files, relations
    playbooks.py    the five scenarios as playbooks; input parsing; "applies now"
    incidentlink.py note, resolve, escalate the service's incident
    records.py      the audit trail (RecoveryRun, RecoveryStep) and the log
    engine.py       run a playbook on Deferreds, streaming progress; one run per scenario
    confirm.py      confirmation codes for destructive runs
    auto.py         self-healing on heartbeat transitions, with a storm limit
    render.py       the text of @recover, /dry, /history
    api.py          what the commands call

Decisions:
    - A step is destructive when it would interrupt something that works:
      restarting a service the heartbeat sees up (or degraded), restarting an
      agent that is online and answering, or a command marked destructive in
      RECOVERY_COMMANDS. Destructive runs need an Admin and `@confirm <code>`;
      the automatic path escalates instead.
    - Nothing runs a shell string; commands are argv lists from settings.
    - A run is recorded before its first step; a server start marks runs left
      `running` as interrupted (at_server_start()).
"""


def at_server_start():
    """Server start (cold or reload): close runs a crash cut short, heal automatically,
    and name any malformed RECOVERY_COMMANDS entry in the log."""
    from evennia.utils import logger

    from world.recovery import auto, config, records

    records.mark_interrupted()
    auto.connect()
    for problem in config.check_all():
        logger.log_err(f"Recovery: {problem}; the playbooks that need it will escalate.")
