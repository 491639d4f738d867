"""
Steps particular to one service: the agents' model on Ollama, the agents'
modes after Ollama is back, and the escalation outbox once Gitea is back.
"""

from twisted.internet import defer

from world import agentfleet
from world.incidents import config as incident_config
from world.incidents import outbox
from world.models import OutboxMessage
from world.presentation import plain_text
from world.recovery import agentops, config
from world.recovery.steps import Step, StepOutcome
from world.recovery.toolkit import wait_until

THINKING_STRATEGIES = ("llm", "hybrid")


def needed_models():
    """The models the thinking agents (llm and hybrid) use, sorted."""
    try:
        return sorted({persona.model for persona in agentfleet.load_fleet()
                       if persona.strategy in THINKING_STRATEGIES and persona.model})
    except Exception:  # persona data unreadable: nothing to check against
        return []


def _full_name(model):
    """Ollama's name for a model: `llama3.2` is `llama3.2:latest`."""
    return model if ":" in model else f"{model}:latest"


class ModelStep(Step):
    """The agents' model must be on the Ollama server (`/api/tags`)."""

    kind = "models"

    def describe(self):
        models = ", ".join(needed_models()) or "none"
        return f"check the agents' model is present on ollama (/api/tags): {models}"

    def run(self, run):
        result = run.memo.get("probe:ollama")
        present = {_full_name(name) for name in (result.details.get("models") or [])} if result else set()
        needed = needed_models()
        missing = [model for model in needed if _full_name(model) not in present]
        if not needed:
            return StepOutcome(True, "no agent thinks with a model (all use the planner)")
        if result is None or "models" not in result.details:
            return StepOutcome(False, "ollama did not list its models (/api/tags)")
        if missing:
            return StepOutcome(False, f"missing model(s): {', '.join(missing)}; "
                                      f"pull them on the Ollama host (ollama pull {missing[0]})")
        return StepOutcome(True, f"model(s) present: {', '.join(needed)}")


class AgentModesStep(Step):
    """Agents leave autonomy once their model answers; clear a forced autonomy and report modes."""

    kind = "modes"

    def describe(self):
        return ("switch the agents back from autonomy mode (relink those forced into it) "
                "and report every agent's mode")

    def run(self, run):
        parts = []
        agents = agentfleet.agent_characters()
        for name in sorted(agents):
            agent = agents[name]
            if not agent.online:
                parts.append(f"{name} offline")
                continue
            parent = agentops.parent_of(name)
            parent_back = not parent or bool(agents.get(parent) and agents[parent].online)
            if agent.mode == "autonomy" and parent_back:
                agentfleet.control(agent, "relink")
                parts.append(f"{name} autonomy (relink sent; its model probe brings it back)")
            else:
                parts.append(f"{name} {plain_text(agent.mode, 12)}")
        return StepOutcome(True, "agents: " + (", ".join(parts) or "none"))


class OutboxStep(Step):
    """Deliver the escalations that waited for Gitea, now, in order."""

    kind = "outbox"

    def describe(self):
        return "flush the escalation outbox: deliver every pending Gitea message now, in order"

    @defer.inlineCallbacks
    def run(self, run):
        if not incident_config.gitea_configured():
            return StepOutcome(True, "Gitea escalation is not configured (token, repository): nothing to flush")
        before = outbox.counts()["pending"]

        @defer.inlineCallbacks
        def flushed():
            now = run.kit.now()
            OutboxMessage.objects.filter(state=OutboxMessage.PENDING).update(next_attempt_at=now)
            yield outbox.deliver_due()
            left = outbox.counts()["pending"]
            return left == 0, f"{left} still pending"

        done, text, waited = yield wait_until(run.kit, flushed, config.seconds("RECOVERY_OUTBOX_WAIT"))
        counts = outbox.counts()
        summary = f"{before} pending before, {counts['pending']} now, {counts['dead']} dead-lettered"
        if done:
            return StepOutcome(True, f"outbox flushed: {summary}")
        last = OutboxMessage.objects.filter(state=OutboxMessage.PENDING).order_by("id").first()
        error = f"; last error: {plain_text(last.last_error, 80)}" if last and last.last_error else ""
        return StepOutcome(False, f"outbox not flushed after {waited:.0f} s: {summary}{error}")
