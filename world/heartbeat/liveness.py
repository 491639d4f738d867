"""
Agent liveness: when each agent last showed a sign of life.

Every observation an agent's runtime asks for and every report it sends sets
its character's `last_seen` (server/conf/inputfuncs.py); the heartbeat's
`agents` check reads `agent_last_seen()`. Agent characters also carry the
`agent` tag (`AGENT_TAG`), by which commands tell an agent from a person.
"""

AGENT_TAG = "agent"
AGENT_TAG_CATEGORY = "timmy_role"


def agent_last_seen():
    """Return {agent name: last seen timestamp or None} for every agent character.

    Found by typeclass (one query on the object table): the same characters
    as by their tag, which joins the tag tables and took 1.5-5 ms of the
    reactor on every beat.
    """
    from typeclasses.agents import AgentCharacter

    return {agent.key: agent.last_seen for agent in AgentCharacter.objects.all_family()}
