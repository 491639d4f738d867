"""
Who is online, as a plain-text table (the `who` command).

Evennia's `who` draws its table with EvTable, which builds every cell,
border and bit of padding as an ANSIString and balances the columns by
reformatting them again and again: with 100 players online one `who` held
the Server's reactor for about a second, during which nobody else's command
ran (README, Latency, finding 29). Here the same columns are laid out with
plain string formatting, each as wide as its widest cell up to a cap. Names
and rooms came from players, so they are shown as plain text.

Everything here takes the sessions and the time as arguments and touches
no database beyond the sessions' own objects, so it is tested without a
server.
"""

from evennia.utils.utils import time_format

from world.plaintext import plain_text

NAME_WIDTH = 25  # Evennia's `who` crops names and rooms at 25 as well
PUBLIC_COLUMNS = ("Account name", "On for", "Idle")
PRIVILEGED_COLUMNS = ("Account name", "On for", "Idle", "Puppeting", "Room", "Cmds", "Protocol", "Host")


def logged_in(sessions):
    """The logged-in sessions, sorted by their account's name as Evennia's `who` sorts them."""
    return sorted((session for session in sessions if session.logged_in and session.account),
                  key=lambda session: session.account.key)


def session_row(session, viewer, privileged, now):
    """One row of cells (strings) for `session`, as `viewer` sees it."""
    row = [
        plain_text(session.account.get_display_name(viewer), NAME_WIDTH),
        time_format(now - session.conn_time, 0),
        time_format(now - session.cmd_last_visible, 1),
    ]
    if privileged:
        puppet = session.get_puppet()
        location = puppet.location if puppet else None
        address = session.address[0] if isinstance(session.address, tuple) else session.address
        row += [
            plain_text(puppet.get_display_name(viewer), NAME_WIDTH) if puppet else "None",
            plain_text(location.key, NAME_WIDTH) if location else "None",
            str(session.cmd_total),
            str(session.protocol_key),
            str(address),
        ]
    return row


def table(columns, rows):
    """The header (in white) and the rows, each column as wide as its widest cell."""
    widths = [max([len(title)] + [len(row[index]) for row in rows]) for index, title in enumerate(columns)]
    lines = ["|w" + _line(columns, widths) + "|n"]
    lines.extend(_line(row, widths) for row in rows)
    return "\n".join(lines)


def _line(cells, widths):
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def who_text(viewer, sessions, privileged, account_count, now):
    """The whole answer of `who`.

    Args:
        viewer (Account): Who asks (names are shown as they see them).
        sessions (iterable): Every session of the Server.
        privileged (bool): Show the session columns (puppet, room, commands,
            protocol, host), as Evennia does for Developers and Admins.
        account_count (int): Unique accounts logged in.
        now (float): The time (`time.time()`).

    Returns:
        str: The table and a count line.
    """
    rows = [session_row(session, viewer, privileged, now) for session in logged_in(sessions)]
    columns = PRIVILEGED_COLUMNS if privileged else PUBLIC_COLUMNS
    count = "One unique account" if account_count == 1 else f"{account_count} unique accounts"
    return f"|wAccounts:|n\n{table(columns, rows)}\n{count} logged in."
