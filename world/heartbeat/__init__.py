"""
The heartbeat: concurrent health probes of the fleet's services, a state
machine that turns results into transitions, history and announcements.

    config.py     service checks from settings.HEALTH_CHECKS, validated
    probes.py     one non-blocking probe per check kind (http, ollama, tcp, disk, ...)
    cycle.py      run every probe of one beat concurrently
    tracker.py    consecutive-failure state machine: transitions, not noise
    history.py    samples in the database, the daily JSON-lines log, uptime
    transitions.py  the one place transitions are published (signal + announcements)
    service.py    one beat, end to end, as the heartbeat Script runs it
"""
