"""
Agent liveness: when each agent last showed a sign of life.

Agents (typeclasses with the `agent` tag) call `record_agent_seen()` whenever
they act; the heartbeat's `agents` check reads `agent_last_seen()`.
"""

import time

AGENT_TAG = "agent"
AGENT_TAG_CATEGORY = "timmy_role"


def record_agent_seen(character, when=None):
    """Note that an agent's character showed a sign of life now."""
    character.last_seen = when or time.time()


def agent_last_seen():
    """Return {agent name: last seen timestamp or None} for every agent character."""
    from evennia import search_tag

    return {
        agent.key: getattr(agent, "last_seen", None)
        for agent in search_tag(AGENT_TAG, category=AGENT_TAG_CATEGORY)
    }
