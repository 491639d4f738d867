"""
Plain text from untrusted text, with no dependency on Django or Evennia.

Used by the server (through world.presentation) and by the agent runtime,
which may run on a machine without the game's settings. It strips MXP links
(keeping their visible text), Evennia colour markup, raw ANSI escapes and
control characters, folds line breaks (so a line cannot fake another
speaker), neutralises any leftover `|` and bounds the length.
"""

import re

_MXP_LINK = re.compile(r"\|l[cu](.*?)\|lt(.*?)\|le", re.DOTALL)
_MXP_ANY = re.compile(r"\|l[cut]|\|le")
_EVENNIA_MARKUP = re.compile(
    r"\|\[?(?:#[0-9a-fA-F]{6}|[0-5]{3}|=[a-z]|[rgbcymwxRGBCYMWX])"  # colours, backgrounds, xterm
    r"|\|[nhHuUiIsS*^_\-/>]"  # normal, hilite, underline, italic, strike, blink, tab, newline, ...
)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_markup(text):
    """Remove MXP links (keeping their text), Evennia markup and ANSI escapes."""
    text = _MXP_LINK.sub(lambda match: match.group(2) or match.group(1), str(text or ""))
    text = _MXP_ANY.sub("", text)
    text = text.replace("||", "\x00PIPE\x00")
    text = _EVENNIA_MARKUP.sub("", text)
    text = _ANSI_ESCAPE.sub("", text)
    return text.replace("\x00PIPE\x00", "|")


def plain_text(text, limit=None):
    """Make player- or model-supplied text safe to show as plain text.

    Args:
        text (str): Untrusted text.
        limit (int, optional): Maximum length; longer text ends with '…'.

    Returns:
        str: One line that renders literally on every client.
    """
    text = strip_markup(text)
    text = text.replace("\r", " ").replace("\n", " ")
    text = _CONTROL.sub("", text)
    text = text.replace("|", "¦")
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text
