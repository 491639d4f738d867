"""
Input functions

Input functions are always called from the client (they handle server
input, hence the name).

This module is loaded by being included in the
`settings.INPUT_FUNC_MODULES` tuple.

All *global functions* included in this module are considered
input-handler functions and can be called by the client to handle
input.

An input function must have the following call signature:

    cmdname(session, *args, **kwargs)

Where session will be the active session and *args, **kwargs are extra
incoming arguments and keyword properties.

A special command is the "default" command, which is will be called
when no other cmdname matches. It also receives the non-found cmdname
as argument.

    default(session, cmdname, *args, **kwargs)

"""

# def oob_echo(session, *args, **kwargs):
#     """
#     Example echo function. Echoes args, kwargs sent to it.
#
#     Args:
#         session (Session): The Session to receive the echo.
#         args (list of str): Echo text.
#         kwargs (dict of str, optional): Keyed echo text
#
#     """
#     session.msg(oob=("echo", args, kwargs))
#
#
# def default(session, cmdname, *args, **kwargs):
#     """
#     Handles commands without a matching inputhandler func.
#
#     Args:
#         session (Session): The active Session.
#         cmdname (str): The (unmatched) command name
#         args, kwargs (any): Arguments to function.
#
#     """
#     pass


import time  # noqa: E402


def agent_observe(session, *args, **kwargs):
    """An agent's runtime asks what its character perceives.

    Answered with ["agent_observation", [observation], {}] over the next two
    turns of the reactor (world.agentfleet.answer_observation). Ignored for any
    session that does not puppet an AgentCharacter.
    """
    from world.agentfleet import answer_observation

    agent = _agent_of(session)
    if agent is None:
        if session and session.logged_in:  # logged in, not yet puppeting: ask again soon
            session.msg(agent_observation=([{"unavailable": "not puppeting a character yet"}], {}))
        return
    agent.last_seen = time.time()
    answer_observation(session, agent)


def agent_report(session, *args, **kwargs):
    """An agent's runtime reports its mode, goal, decision, error and tokens."""
    from world.agentfleet import apply_report

    agent = _agent_of(session)
    if agent is None:
        return
    report = kwargs if kwargs else (args[0] if args and isinstance(args[0], dict) else {})
    apply_report(agent, {key: value for key, value in report.items() if key != "options"})


def _agent_of(session):
    """The AgentCharacter this session puppets, or None."""
    puppet = session.puppet if session else None
    if puppet is None or not puppet.is_typeclass("typeclasses.agents.AgentCharacter", exact=False):
        return None
    return puppet
