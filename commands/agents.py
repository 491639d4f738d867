"""
Talking to the agents, and watching and steering them.
"""

from world import agentfleet
from world.presentation import age_text, plain_text

from .command import Command


class CmdTalk(Command):
    """
    Speak to an agent, wherever it is.

    Usage:
      talk <agent> <text>

    The agent answers in character through its model (or, in autonomy mode,
    from its planner). If it takes a moment, you are told it is thinking.

    Examples:
      talk timmy how is the fleet?
      talk allegro-primus where is your father?
    """

    key = "talk"
    locks = "cmd:all()"
    help_category = "Agents"

    def parse(self):
        super().parse()
        parts = self.args.strip().split(None, 1)
        if len(parts) < 2:
            self.refuse(f"Say who and what. {self.usage()}")
        self.agent = agentfleet.find_agent(parts[0])
        self.text = parts[1]
        if self.agent is None:
            names = ", ".join(sorted(agentfleet.agent_characters())) or "none yet"
            self.refuse(f"There is no agent called '{plain_text(parts[0], 30)}'. Agents: {names}.")

    def func(self):
        if not self.agent.online:
            self.msg(f"{self.agent.key} is not connected and cannot hear you.")
            return
        speech = agentfleet.talk(self.caller, self.agent, self.text)
        self.msg(f'You say to {self.agent.key}, "{speech}"')


class CmdAgents(Command):
    """
    See the agents, read their memory, and pause, resume or restart them.

    Usage:
      @agents
      @agents/memory <agent>
      @agents/pause <agent>
      @agents/resume <agent>
      @agents/restart <agent>

    Switches:
      memory  - the agent's recent events, decisions and its notebook
      pause   - stop the agent deciding (it stays connected) (Admin)
      resume  - let a paused agent decide again (Admin)
      restart - restart the agent's process (Admin)

    Examples:
      @agents
      @agents/memory timmy
      @agents/pause bezalel
    """

    key = "@agents"
    aliases = ["agents"]
    switch_options = ("memory", "pause", "resume", "restart")
    locks = "cmd:perm(Helper);control:perm(Admin)"
    help_category = "Agents"

    def parse(self):
        super().parse()
        self.agent = None
        if self.switches:
            name = self.args.strip()
            if not name:
                self.refuse(f"Say which agent. {self.usage()}")
            self.agent = agentfleet.find_agent(name)
            if self.agent is None:
                names = ", ".join(sorted(agentfleet.agent_characters())) or "none yet"
                self.refuse(f"There is no agent called '{plain_text(name, 30)}'. Agents: {names}.")
        elif self.args.strip():
            self.refuse(self.usage())

    def func(self):
        if not self.switches:
            self.msg(agents_table())
        elif "memory" in self.switches:
            self.msg(memory_text(self.agent))
        elif not self.access(self.caller, "control"):
            self.msg("|rOnly an Admin can pause, resume or restart agents.|n")
        else:
            command = self.switches[0]
            reached = agentfleet.control(self.agent, command)
            where = "" if reached else " (it is offline; this applies when it connects)"
            self.msg(f"{self.agent.key}: {command} sent{where}.")


def agents_table(now=None):
    """@agents: one block per agent."""
    import time

    now = now or time.time()
    agents = agentfleet.agent_characters()
    if not agents:
        return "No agents exist yet (the world builder creates them)."
    lines = [f"|w{'Agent':<15} {'Online':<7}{'Mode':<10}{'Where':<12}{'Dec/h':>5} {'Tokens':>7}  Goal|n"]
    for name in sorted(agents):
        agent = agents[name]
        online = "|gyes|n    " if agent.online else "|rno|n     "
        where = agent.location.key if agent.location else "-"
        lines.append(f"{name:<15} {online}{agent.mode:<10}{where[:11]:<12}{agent.decisions_per_hour(now):>5} "
                     f"{agent.tokens_used or 0:>7}  {plain_text(agent.current_goal, 20) or '-'}")
        if agent.last_decision:
            lines.append(f"  last: {plain_text(agent.last_decision, 30)} - {plain_text(agent.last_reason, 38)}")
        if agent.last_error:
            lines.append(f"  |rerror:|n {plain_text(agent.last_error, 66)}")
        if agent.last_seen:
            lines.append(f"  seen {age_text(now - agent.last_seen)} ago; invalid answers: {agent.invalid_answers or 0}")
    return "\n".join(lines)


def memory_text(agent):
    """@agents/memory: recent events and the notebook."""
    import time

    now = time.time()
    lines = [f"|w{agent.key}'s memory|n", "|wRecent events:|n"]
    events = agent.recent_events or []
    lines += [_memory_line(f"{age_text(now - e['at'])} ago {e['kind']}: {e.get('speaker', '')} {e.get('text', '')}")
              for e in events[-10:]] or ["  (nothing yet)"]
    lines.append("|wRecent decisions:|n")
    lines += [_memory_line(f"{age_text(now - d['at'])} ago at {d.get('where') or '?'} ({d.get('mode', '')}): "
                           f"{d['command']}") for d in (agent.recent_decisions or [])[-10:]] or ["  (none yet)"]
    lines.append("|wNotebook:|n")
    lines += [_memory_line(f"{age_text(now - e['at'])} ago: {e['text']}")
              for e in (agent.notebook or [])[-10:]] or ["  (empty)"]
    return "\n".join(lines)


def _memory_line(text):
    """One indented line of memory, cut to the screen as plain text (never mid-markup)."""
    return "  " + plain_text(text, 76)
