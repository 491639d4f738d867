"""
The daily report (the seed's morning report): what happened in one UTC day.

    days.py      UTC days: parsing "YYYY-MM-DD", bounds, the daily time, when due
    activity.py  the agents' activity ledger (their own memories are bounded)
    build.py     the facts of one day, as a JSON-ready dict (ORM reads)
    render.py    the facts as in-game text, as Markdown, and as the ops summary
    store.py     report-YYYY-MM-DD.md (and .json, the facts) in TIMMY_REPORT_DIR
    service.py   putting it together without blocking the reactor

Settings (read with getattr, so every one is optional):

    TIMMY_REPORT_DIR  where reports are kept (<GAME_DIR>/server/logs/reports)
    TIMMY_REPORT_AT   "HH:MM" UTC time the previous day's report is made ("06:00")
"""
