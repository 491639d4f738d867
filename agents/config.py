"""
The agent runtime's configuration, from the environment.

The runtime does not load the game's Django settings (it may run on another
machine); everything it needs comes from these variables, with defaults that
match a world started by `make run` on this machine.
"""

import os
from dataclasses import dataclass

from world.plaintext import is_number

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _float(name, default):
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else float(default)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number.")


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything one agent process needs to know."""

    websocket_url: str
    ollama_host: str
    credentials_file: str
    personas_file: str
    model_override: str = ""
    ollama_timeout: float = 20.0
    idle_tick: float = 120.0
    min_decision_interval: float = 5.0
    observe_timeout: float = 10.0
    event_queue: int = 20
    breaker_failures: int = 3
    breaker_reset: float = 60.0
    observation_tokens: int = 600
    candidate_plans: int = 3
    talk_min_interval: float = 2.0
    nice: int = 10


def _niceness(name, default):
    """A niceness increment from the environment: a whole number from 0 (as the world) to 19."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not is_number(raw) or int(raw) > 19:
        raise SystemExit(f"{name}={raw!r} must be a whole number from 0 to 19.")
    return int(raw)


def from_environment():
    """A RuntimeConfig from the environment (see the README's variable table)."""
    base = int(os.environ.get("TIMMY_PORT_BASE", "4000") or 4000)
    host = os.environ.get("TIMMY_WORLD_HOST", "127.0.0.1").strip() or "127.0.0.1"
    return RuntimeConfig(
        websocket_url=os.environ.get("TIMMY_WEBSOCKET_URL", "").strip() or f"ws://{host}:{base + 2}",
        ollama_host=os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434").strip().rstrip("/"),
        credentials_file=os.environ.get("TIMMY_AGENT_CREDENTIALS", "").strip()
        or os.path.join(GAME_DIR, "server", "conf", "agent_credentials.json"),
        personas_file=os.path.join(GAME_DIR, "agents", "personas.toml"),
        model_override=os.environ.get("TIMMY_AGENT_MODEL", "").strip(),
        ollama_timeout=_float("TIMMY_AGENT_OLLAMA_TIMEOUT", 20.0),
        idle_tick=_float("TIMMY_AGENT_IDLE_TICK", 120.0),
        min_decision_interval=_float("TIMMY_AGENT_MIN_INTERVAL", 5.0),
        breaker_failures=int(_float("TIMMY_AGENT_BREAKER_FAILURES", 3)),
        breaker_reset=_float("TIMMY_AGENT_BREAKER_RESET", 60.0),
        nice=_niceness("TIMMY_AGENT_NICE", 10),
    )
