"""
Recovery as text: the scenario list, dry runs, the history and one run.
"""

import time

from world.presentation import age_text, plain_text
from world.recovery import engine, playbooks, records
from world.recovery.errors import RecoveryError

STATE_COLOURS = {"succeeded": "|g", "failed": "|r", "interrupted": "|y", "running": "|c"}
STEP_COLOURS = {"ok": "|g", "failed": "|r", "found": "|y", "interrupted": "|y", "running": "|c"}
APPLIES = {True: "|rapplies|n", False: "|gno|n     ", None: "|x-|n      "}


def overview():
    """`@recover`: each scenario, whether it applies now, and what runs."""
    lines = ["|wRecovery playbooks|n (@recover/dry <scenario> shows every step; nothing runs):"]
    for scenario in playbooks.SCENARIOS:
        try:
            applies, why = playbooks.applies(scenario)
        except Exception as err:  # one broken check must not hide the others
            applies, why = None, f"cannot tell ({type(err).__name__})"
        lines.append(f"  |w{scenario:<7}|n {APPLIES[applies]} {plain_text(why, 60)}")
        lines.append(f"          {playbooks.TITLES[scenario]}")
    under_way = engine.running()
    if under_way:
        lines.append("Running now: " + ", ".join(f"{name} (#{run_id})" for name, run_id in sorted(under_way.items())))
    return "\n".join(lines)


def dry_run(playbook):
    """`@recover/dry`: every step the playbook would take; nothing is changed."""
    target = f" {playbook.target}" if playbook.target else ""
    lines = [f"|wDry run of '{playbook.scenario}'{target}|n (nothing is changed): {playbook.title}"]
    for index, step in enumerate(playbook.steps, 1):
        lines.append(f"  {index}. {plain_text(step.describe(), 200)}")
    reasons = playbook.destructive_reasons()
    if reasons:
        lines.append("|yDestructive now|n (an Admin, then @confirm <code> within the time limit): "
                     + "; ".join(plain_text(reason, 120) for reason in reasons))
    else:
        lines.append("Not destructive now: Helpers and agents may run it.")
    if playbook.scenario == "infra":
        lines.append("Running it shows the same plan with the backup to restore; the restore itself "
                     "needs the server stopped.")
    return "\n".join(lines)


def history():
    """`@recover/history`: the latest runs."""
    runs = records.recent_runs()
    if not runs:
        return "No recovery has run yet."
    now = time.time()
    lines = ["|w  Run  Scenario Target          State            Ago  Took   By|n"]
    for run in runs:
        took = f"{run.finished_at - run.started_at:.0f}s" if run.finished_at else "-"
        colour = STATE_COLOURS.get(run.state, "")
        lines.append(f"  #{run.id:<4}{run.scenario:<9}{plain_text(run.target, 15) or '-':<16}"
                     f"{colour}{run.state:<12}|n {age_text(now - run.started_at):>7}  {took:<6} "
                     f"{plain_text(run.started_by, 20)} ({run.trigger})")
    lines.append("@recover/history <run> shows every step, with the commands' argv, exit code and output digest.")
    return "\n".join(lines)


def run_detail(run_id):
    """`@recover/history <id>`: one run, step by step."""
    run = records.find_run(run_id)
    if run is None:
        raise RecoveryError(f"There is no recovery run #{plain_text(str(run_id).lstrip('#'), 12)}.")
    colour = STATE_COLOURS.get(run.state, "")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started_at))
    incident = f", incident #{run.incident_id}" if run.incident_id else ""
    target = f" {plain_text(run.target, 30)}" if run.target else ""
    lines = [f"|wRecovery #{run.id}|n '{run.scenario}'{target} {colour}{run.state}|n, "
             f"started {when} by {plain_text(run.started_by, 30)} ({run.trigger}){incident}"]
    for step in run.steps.all():
        lines += step_lines(step)
    if run.summary:
        lines.append(f"  summary: {plain_text(run.summary, 300)}")
    return "\n".join(lines)


def step_lines(step):
    """A recorded step: what it was, how it went, and its command."""
    colour = STEP_COLOURS.get(step.state, "|x")
    took = f" {step.duration:.1f}s" if step.duration is not None else ""
    lines = [f"  {step.index}. {colour}{step.state}|n{took} {step.kind}: {plain_text(step.text, 200)}"]
    if step.argv:
        argv = " ".join(plain_text(part, 60) for part in step.argv)
        lines.append(f"       argv: {plain_text(argv, 200)}")
        lines.append(f"       exit {step.exit_code}, {step.output_bytes} bytes of output, "
                     f"sha256 {step.output_digest[:16]}...")
    return lines
