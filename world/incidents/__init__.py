"""
Incidents and the three-level escalation matrix.

    core.py      open / re-trigger (dedup) / acknowledge / note / resolve, the climb
    notify.py    who is told at each level, in the world
    outbox.py    notifications to Gitea, persisted with the change, delivered in order
    gitea.py     the Gitea REST client (requests; runs in a thread)
    silences.py  maintenance windows
    sources.py   heartbeat transitions become incidents
    render.py    incident lists and timelines as text

Level 1: the on-duty agent owns it. Level 2: the peer agent and every
connected Builder-or-higher are paged. Level 3: the humans, through a Gitea
issue and a broadcast. P0 starts at level 2. An unacknowledged incident climbs
when its severity's timeout passes; an acknowledged one re-alerts after the
ack timeout until resolved. All deadlines are stored on the incident, so they
survive reload and restart; the incidents Script checks them every few
seconds.
"""
