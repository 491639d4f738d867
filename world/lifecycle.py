"""
Server lifecycle: the ready file that tells `make run` the world is up.

Evennia restarts the server once right after its very first initial setup, so
"the port answers" is not "the world is ready". The server writes
settings.TIMMY_READY_FILE at the end of a start that did not just run initial
setup, and removes it when it stops; the run command waits for it.
"""

import json
import os
import time

from django.conf import settings

_STATE = {"initial_setup_ran": False}


def mark_initial_setup_ran():
    """Called by at_initial_setup: this process will be restarted, not ready."""
    _STATE["initial_setup_ran"] = True


def write_ready_file():
    """Write the ready file (unless this process just ran initial setup).

    Returns:
        bool: True if the file was written.
    """
    if _STATE["initial_setup_ran"]:
        return False
    info = {
        "pid": os.getpid(),
        "started": time.time(),
        "telnet_port": settings.TELNET_PORTS[0],
        "web_port": settings.WEBSERVER_PORTS[0][0],
        "websocket_port": settings.WEBSOCKET_CLIENT_PORT,
    }
    tmp = settings.TIMMY_READY_FILE + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(info, handle)
    os.replace(tmp, settings.TIMMY_READY_FILE)
    return True


def remove_ready_file():
    """Remove the ready file; missing is fine."""
    try:
        os.remove(settings.TIMMY_READY_FILE)
    except FileNotFoundError:
        pass
