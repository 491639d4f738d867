"""
An agent's decision loop.

Event-driven (spoken to, an incident given or escalated to it, a service
transition in its region) plus a slow idle tick. Each decision:

1. asks the server for a bounded observation (agent_observe);
2. picks ONE action by its strategy:
   - `llm`: the model decides (Ollama /api/chat with a JSON schema of the
     allowed actions), and the answer is validated again here;
   - `planner`: the deterministic goal planner decides;
   - `hybrid`: the model picks among the planner's candidate plans;
   and falls back to the planner (**autonomy mode**) when the model is
   unreachable, times out or keeps answering nonsense (a circuit breaker
   with a retry probe), or when the agent is orphaned (Allegro-Primus whose
   parent or Ollama is unreachable);
3. renders the action through its fixed command template
   (agents/actions.render_command) and runs it as the agent;
4. reports mode, goal, decision, reason, errors and tokens to the server.

Model calls run in a thread (`run_in_thread`, deferToThread by default); the
loop itself never blocks. Time comes from `clock` (the reactor, or a
task.Clock in tests). Player text reaches the model only as quoted data and
nothing the model says runs unless it is a valid allowlisted action.
"""

import collections

from twisted.internet import defer, threads
from twisted.python import log

from agents.actions import InvalidAnswer, render_command, validate
from agents.llm import CircuitBreaker, ModelUnavailable
from agents.observation import build_observation
from agents.planner import plan_for, world_state_from_observation

AUTONOMY = "autonomy"
PAUSED = "paused"
FALLBACK_REPLY = "I cannot reach my model right now, so I am working from my plan: {goal}."


class AgentBrain:
    """Decides and acts for one agent."""

    def __init__(self, persona, mind, link, config, clock=None, run_in_thread=None):
        from twisted.internet import reactor

        self.persona, self.mind, self.link, self.config = persona, mind, link, config
        self.clock = clock or reactor
        self.run_in_thread = run_in_thread or threads.deferToThread
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_reset, clock=self.clock)
        self.events = collections.deque(maxlen=config.event_queue)
        self.paused = False
        self.busy = False
        self.mode = "starting"
        self.goal = ""
        self.last_decision_at = None
        self.last_reply_at = None
        self.wake_call = None
        self.idle_call = None
        self.restart_requested = None
        self.forced_autonomy = False
        self.decisions = []

    # ---------------------------------------------------------- lifecycle

    def start(self):
        """Begin the idle tick; the first decision comes when the link logs in."""
        self._schedule_idle()

    def stop(self):
        for call in (self.wake_call, self.idle_call):
            if call and call.active():
                call.cancel()

    def _schedule_idle(self):
        self.idle_call = self.clock.callLater(self.config.idle_tick, self._idle)

    def _idle(self):
        self._schedule_idle()
        self.wake("idle")

    # -------------------------------------------------------------- input

    def on_logged_in(self):
        self.wake("logged in")

    def on_event(self, event):
        """Something happened that may need a decision (bounded queue)."""
        if not isinstance(event, dict):
            return
        self.events.append(event)
        if event.get("kind") == "talk":
            self.answer(event)
        else:
            self.wake(event.get("kind", "event"))

    def on_control(self, command):
        """pause, resume or restart (an operator's @agents); autonomy or relink (a recovery playbook)."""
        if command == "pause":
            self.paused, self.mode = True, PAUSED
            self.link.report(mode=PAUSED, goal="paused by an operator")
        elif command == "resume":
            self.paused = False
            self.wake("resumed")
        elif command == "restart" and self.restart_requested:
            self.restart_requested()
        elif command == "autonomy":
            self.forced_autonomy = True
            self.link.report(note="Told to work on my own from my plan (autonomy mode) until re-linked.")
            self.wake("autonomy")
        elif command == "relink":
            self.forced_autonomy = False
            self.link.report(note=f"Re-linked with {self.persona.parent or 'my fleet'}.")
            self.wake("relinked")

    def wake(self, reason):
        """Decide soon, respecting the minimum interval between decisions."""
        if self.paused or (self.wake_call and self.wake_call.active()):
            return
        delay = 0.0
        if self.last_decision_at is not None:
            delay = max(0.0, self.config.min_decision_interval - (self.clock.seconds() - self.last_decision_at))
        self.wake_call = self.clock.callLater(delay, self.decide)

    def _retry_soon(self):
        """Try again after a short pause (not at the next idle tick)."""
        self.clock.callLater(max(1.0, self.config.min_decision_interval), self.wake, "retry")

    # ----------------------------------------------------------- deciding

    @defer.inlineCallbacks
    def decide(self):
        """One decision, end to end. Never raises."""
        if self.busy or self.paused:
            return None
        self.busy = True
        try:
            observation = yield self.link.request_observation(self.config.observe_timeout)
            if observation.get("unavailable"):
                self._retry_soon()
                return None
            if observation.get("paused"):
                self.paused, self.mode = True, PAUSED
                return None
            decision, mode, goal, tokens, problem = yield self.choose(observation)
            command = render_command(decision)
            if command:
                self.link.send_command(command)
            self.mode, self.goal = mode, goal
            self.last_decision_at = self.clock.seconds()
            self.decisions.append((self.last_decision_at, decision.action, command))
            report = {"mode": mode, "goal": goal, "decision": command or decision.action,
                      "reason": decision.reason, "tokens": tokens, "where": observation.get("location", "")}
            if problem:
                report.update(error=problem, invalid=problem.startswith("invalid"))
            self.link.report(**report)
            return decision
        except Exception as err:  # a failed decision must never stop the loop
            log.msg(f"{self.persona.name}: decision failed: {err!r}")
            self.link.report(error=f"decision failed: {type(err).__name__}: {err}"[:200])
            self._retry_soon()
            return None
        finally:
            self.busy = False
            self.events.clear()

    @defer.inlineCallbacks
    def choose(self, observation):
        """Pick one action; returns (decision, mode, goal, tokens, problem)."""
        k = self.config.candidate_plans if self.persona.strategy == "hybrid" else 1
        plans = plan_for(observation, self.persona, k=k)
        planned = plans[0]
        state = world_state_from_observation(observation, self.persona)
        if self.forced_autonomy:
            return planned.decision(self.persona.actions), AUTONOMY, planned.goal, 0, ""
        if self.persona.strategy == "planner":
            return planned.decision(self.persona.actions), "planner", planned.goal, 0, ""
        if state.get("orphaned") or not self.breaker.allow():
            return planned.decision(self.persona.actions), AUTONOMY, planned.goal, 0, ""
        text = build_observation(observation, self.persona, self.config.observation_tokens)
        try:
            if self.persona.strategy == "hybrid":
                chosen = yield self.run_in_thread(self.mind.choose, text, self.persona, plans)
                plan = plans[chosen.index]
                decision, usage, goal = plan.decision(self.persona.actions), chosen.usage, plan.goal
            else:
                decided = yield self.run_in_thread(self.mind.decide, text, self.persona)
                decision, usage, goal = decided.decision, decided.usage, "model's choice"
        except InvalidAnswer as err:
            self.breaker.record_failure()
            return planned.decision(self.persona.actions), AUTONOMY, planned.goal, 0, f"invalid answer: {err}"
        except ModelUnavailable as err:
            self.breaker.record_failure()
            return planned.decision(self.persona.actions), AUTONOMY, planned.goal, 0, f"model unavailable: {err}"
        self.breaker.record_success()
        tokens = (usage.prompt_tokens or 0) + (usage.completion_tokens or 0) if usage else 0
        return decision, self.persona.strategy, goal, tokens, ""

    # ------------------------------------------------------------ talking

    @defer.inlineCallbacks
    def answer(self, event):
        """Answer someone who talked to the agent, in character, as plain text."""
        now = self.clock.seconds()
        if self.last_reply_at is not None and now - self.last_reply_at < self.config.talk_min_interval:
            return None
        self.last_reply_at = now
        words, tokens = None, 0
        if self.breaker.allow():
            try:
                reply = yield self.run_in_thread(self.mind.reply, self.persona, event.get("speaker", "someone"),
                                                 event.get("text", ""))
                self.breaker.record_success()
                words = reply.text
                tokens = (reply.usage.prompt_tokens or 0) + (reply.usage.completion_tokens or 0) if reply.usage else 0
            except (InvalidAnswer, ModelUnavailable) as err:
                self.breaker.record_failure()
                self.link.report(error=f"reply failed: {err}"[:200])
        if not words:
            words = FALLBACK_REPLY.format(goal=self.goal or "keep the fleet alive")
        try:
            decision = validate({"action": "say", "args": {"text": words}, "reason": "answering"},
                                self.persona.actions)
        except InvalidAnswer as err:
            self.link.report(error=f"reply rejected: {err}"[:200], invalid=True)
            return None
        self.link.send_command(render_command(decision))
        self.link.report(decision=decision.command, reason="answering a question", tokens=tokens)
        return decision
