"""
The agents as recovery sees them: healthy or failed, who puppets them, their
process on this machine, their relations.

An agent is healthy when its runtime puppets its character and it showed a
sign of life within RECOVERY_AGENT_STALE_AFTER seconds.
"""

import os
import signal
import time

from world import agentfleet
from world.recovery import config


def find(name):
    """The AgentCharacter called `name` (case-insensitive), or None."""
    return agentfleet.find_agent(name)


def names():
    """Every agent's name, sorted."""
    return sorted(agentfleet.agent_characters())


def seen_ago(agent, now=None):
    """Seconds since the agent's last sign of life, or None if never."""
    if not agent.last_seen:
        return None
    return max(0.0, (now or time.time()) - agent.last_seen)


def healthy(agent, now=None):
    """Online, seen recently, and (where its pid file says so) its process alive."""
    ago = seen_ago(agent, now)
    if not agent.online or ago is None or ago > config.seconds("RECOVERY_AGENT_STALE_AFTER"):
        return False
    return not process_gone(agent.key)


def failed_agents(now=None):
    """The agents that are offline or silent, sorted by name."""
    agents = agentfleet.agent_characters()
    return [agents[name] for name in sorted(agents) if not healthy(agents[name], now)]


def puppet_sessions(agent):
    """Ids of the sessions in which the agent's own account puppets its character."""
    account = agent.account
    found = set()
    for session in agent.sessions.all():
        if session.puppet == agent and (account is None or session.account == account):
            found.add(session.sessid)
    return found


def close_sessions(agent, sessids=None, reason="closed by a recovery playbook"):
    """Close the agent's sessions (all, or those in `sessids`); return how many.

    Evennia keeps a websocket session whose connection dropped without a
    close frame (a crashed or killed runtime), so a dead agent can still look
    online: recovery closes such sessions itself.
    """
    import evennia

    closed = 0
    for session in list(agent.sessions.all()):
        if sessids is None or session.sessid in sessids:
            evennia.SESSION_HANDLER.disconnect(session, reason=reason)
            closed += 1
    return closed


def persona(name):
    """The agent's persona (for its relations and model), or None."""
    try:
        return agentfleet.load_fleet().get(name)
    except Exception:  # persona data unreadable: relations are unknown
        return None


def parent_of(name):
    """The name of the agent's parent, or ''."""
    found = persona(name)
    return found.parent if found else ""


def pid_file(name):
    return os.path.join(config.agent_run_dir(), f"{name.lower()}.pid")


def process_gone(name):
    """True when the agent's pid file names a process that no longer runs (a crash on this machine)."""
    if not os.path.exists(pid_file(name)):
        return False
    return live_pid(name, check_cmdline=False) is None


def live_pid(name, check_cmdline=True):
    """The pid of the agent's process on this machine (from the supervisor's pid file), or None.

    The pid is trusted only if that process is alive and, where /proc
    exists, its command line is this agent's runtime (never a reused pid).
    """
    try:
        with open(pid_file(name)) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    if pid <= 1 or not _alive(pid):
        return None
    return pid if not check_cmdline or _is_agent_process(pid, name) else None


def _alive(pid):
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_agent_process(pid, name):
    if not os.path.isdir("/proc"):
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    return "agents.process" in words and name in words


def stop_process(pid):
    """SIGTERM the agent's process; its supervisor starts it again."""
    os.kill(pid, signal.SIGTERM)
