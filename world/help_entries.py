"""
File-based help topics: what an operator asks `help` about that is not a command.

Evennia reads `HELP_ENTRY_DICTS` from the modules in
`settings.FILE_HELP_ENTRY_MODULES` (its default is this module, and without
it every start logged "Could not find file-help module"). The commands' own
help comes from their docstrings; these topics explain the world they work
in. No key or alias may be a help category's name (Operations, Agents):
`help <category>` lists the category instead. Figures are the defaults
(settings can change them); the README is the full manual.
"""

_WORLD = """
Timmy World: the infrastructure is the map.

Four regions, each a room: |wThe Hearth|n (the server itself, the agents,
the disk), |wThe Forge|n (Gitea), |wThe Oracle|n (Ollama) and |wThe Vault|n
(backups). `look` in a region shows each service it houses with its state,
latency and the age of its last check.

Every command here does real operations:
    @status [service]      every service, agents, incidents, last backup
    @heartbeat             probe every service now (Helper)
    @incidents [id]        open incidents, or one incident's timeline
    @ack, @escalate        own an incident, open one by hand (Helper)
    @resolve, @silence     close an incident, maintenance windows (Builder)
    @backup                backups, verification and restore drills (Builder)
    @recover, @confirm     recovery playbooks (Helper; destructive steps Admin)
    @report                the daily report (Helper)
    talk <agent> <text>    speak to an agent wherever it is

See also: help severity, help fleet
"""

_SEVERITY = """
Incident severity and escalation.

    P0  the world itself is at stake: starts at level 2, climbs after 2 min
    P1  a critical service (Ollama, the disk): climbs after 10 min
    P2  everything else (Gitea, agents, backups): climbs after 60 min

Levels: 1 tells the on-duty agent (Timmy), who owns it; 2 pages the peer
agent (Ezra), every connected Builder or higher and the ops channel; 3 opens
a Gitea issue and tells everyone. `@ack <id>` stops the climb; an
acknowledged incident that stays unresolved alerts again (P0 after 15 min,
P1 after 30 min, P2 after 4 h). A service the heartbeat confirms down opens
an incident and resolves it when it is confirmed back.

See also: help @incidents, help @ack, help @escalate, help @silence
"""

_FLEET = """
The agents: five characters, each puppeted by its own account and driven by
a model on the local Ollama.

    Timmy           on-duty coordinator, first responder      The Hearth
    Allegro         documentation and lineage keeper          The Forge
    Allegro-Primus  the learner                               The Oracle
    Ezra            mentor, peer responder                    The Oracle
    Bezalel         builder: backups and drills               The Vault

An agent decides one allowlisted action at a time (say, go, look, @status,
@heartbeat, @escalate, @ack, a note, @backup, @recover, wait), and its
account's permissions still apply. When Ollama is unreachable or answers
nonsense, an agent keeps working in |wautonomy mode|n on a deterministic
planner. `talk <agent> <text>` reaches it anywhere; `@agents` shows what
each one is doing (Helper).

See also: help talk, help @agents
"""

HELP_ENTRY_DICTS = [
    {"key": "timmy world", "aliases": ["world", "regions", "map"], "category": "Operations",
     "text": _WORLD},
    {"key": "severity", "aliases": ["escalation", "p0", "p1", "p2"], "category": "Operations",
     "text": _SEVERITY},
    {"key": "fleet", "aliases": ["agent roles", "autonomy"], "category": "Agents", "text": _FLEET},
]
