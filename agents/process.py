"""
One agent's process: log in to the world and think.

    python -m agents.process <Name>

Reads its password from the credentials file, connects to the world's
websocket (reconnecting with backoff), and runs the AgentBrain. Exits with
RESTART_EXIT_CODE when an operator asks for a restart (the supervisor starts
it again at once); any other exit is a crash and is restarted with backoff.

However it stops (SIGTERM or SIGINT, a restart, any reactor.stop()), it first
closes its websocket with code 1000, waiting briefly for the handshake, so
the world logs it out at once.
"""

import json
import os
import sys

from twisted.internet import defer, reactor
from twisted.python import log

from agents import config as runtime_config
from agents.brain import AgentBrain
from agents.link import WorldLink
from agents.llm import OllamaMind
from agents.personas import PersonaDataError, load_personas

RESTART_EXIT_CODE = 75
EXIT = {"code": 0}


def read_password(path, name):
    """The agent's password from the credentials file."""
    try:
        with open(path) as handle:
            return json.load(handle)[name]
    except (OSError, ValueError, KeyError):
        raise SystemExit(f"No credentials for {name} in {path}; run `bin/timmy run` (or build) on the server.")


def build_agent(name, cfg):
    """The link and brain of one agent, wired together (not yet connected)."""
    try:
        personas = load_personas(cfg.personas_file, default_model=cfg.model_override or None)
    except PersonaDataError as err:
        raise SystemExit(str(err))
    persona = personas.get(name)
    if persona is None:
        raise SystemExit(f"No persona called {name!r} in {cfg.personas_file}.")
    link = WorldLink(cfg.websocket_url, persona.name, read_password(cfg.credentials_file, persona.name))
    mind = OllamaMind(cfg.ollama_host, timeout=cfg.ollama_timeout)
    brain = AgentBrain(persona, mind, link, cfg)
    link.brain = brain
    return link, brain


def shut_down(link, brain):
    """Stop thinking and close the link; the reactor waits for the Deferred.

    Runs before the reactor shuts down, whatever stopped it.

    Args:
        link (WorldLink): The agent's websocket link.
        brain (AgentBrain): The agent's decision loop.

    Returns:
        Deferred: Fires when the websocket is closed, or after a bounded wait.
    """
    brain.stop()
    closing = defer.maybeDeferred(link.close)
    closing.addErrback(log.err, "closing the websocket failed")
    return closing


def request_restart():
    """Leave with the restart code: the supervisor starts us again."""
    EXIT["code"] = RESTART_EXIT_CODE
    reactor.stop()


def lower_priority(increment):
    """Run this agent `increment` steps below the world's processes (0: as they do).

    The agents are background workers on the world's machine: when they and
    the Server or the Portal want a core at the same moment, an operator's
    command should not wait for an agent's turn (README, Latency, finding 25).
    """
    if increment <= 0:
        return
    try:
        os.nice(increment)
    except OSError as err:
        log.msg(f"could not lower this agent's priority by {increment}: {err}")


def main(argv):
    if len(argv) != 1:
        raise SystemExit("usage: python -m agents.process <Name>")
    log.startLogging(sys.stdout)
    cfg = runtime_config.from_environment()
    lower_priority(cfg.nice)
    link, brain = build_agent(argv[0], cfg)
    brain.restart_requested = request_restart
    from autobahn.twisted.websocket import connectWS

    connectWS(link)
    reactor.addSystemEventTrigger("before", "shutdown", shut_down, link, brain)
    reactor.callWhenRunning(brain.start)
    reactor.run()
    return EXIT["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
