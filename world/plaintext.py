"""
Plain text from untrusted text, with no dependency on Django or Evennia.

Used by the server (through world.presentation) and by the agent runtime,
which may run on a machine without the game's settings. It strips MXP links
(keeping their visible text), Evennia colour markup, raw ANSI escapes and
control characters (C0 and C1) and bidirectional overrides, folds line breaks
(so a line cannot fake another speaker), neutralises any leftover `|`, bounds
the length, and writes a URL scheme with no host after it (`http://"...`,
`http://…`) so that Evennia's web client does not make a broken link of it.

What it keeps is literal text: `<`, `>`, `{`, `$` and Markdown are left for
each surface to escape (the web client and Django escape HTML, Evennia does
not format or parse text given to `msg`).
"""

import re

# The longest thing anyone says in one go (say, whisper, a channel line).
SPEECH_LIMIT = 2000

_MXP_LINK = re.compile(r"\|l[cu](.*?)\|lt(.*?)\|le", re.DOTALL)
_MXP_ANY = re.compile(r"\|l[cut]|\|le")
_EVENNIA_SPACING = re.compile(r"\|[_\-/>]")  # space, tab, newline, indent
_EVENNIA_MARKUP = re.compile(
    r"\|\[?(?:#[0-9a-fA-F]{6}|[0-5]{3}|=[a-z]|[rgbcymwxRGBCYMWX])"  # colours, backgrounds, xterm
    r"|\|[nhHuUiIsS*^]"  # normal, hilite, underline, italic, strike, inverse, blink
)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Evennia's web client links `http://...` and takes the whole non-word run
# after the scheme into the href: a quote there ends the attribute, a line
# end there swallows the next `<br>`. A scheme with no host after it is not
# a link: its colon is written full-width so no client links it.
_HOSTLESS_URL = re.compile(r"(?i)\b(ftp|https?):(?=//(?:\W|$))")


def strip_markup(text):
    """Remove MXP links (keeping their text), Evennia markup and ANSI escapes."""
    text = _MXP_LINK.sub(lambda match: match.group(2) or match.group(1), str(text or ""))
    text = _MXP_ANY.sub("", text)
    text = text.replace("||", "\x00PIPE\x00")
    text = _EVENNIA_SPACING.sub(" ", text)
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
    text = _LINE_BREAK.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = text.replace("|", "¦")
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return _HOSTLESS_URL.sub("\\1\uff1a", text)


def is_number(text):
    """Whether `text` is a non-empty run of the digits 0-9 (what an id or a count is typed as).

    `str.isdigit()` alone is also true for characters such as `¹` that
    `int()` refuses, so a check with it lets a traceback through.
    """
    return isinstance(text, str) and text.isascii() and text.isdigit()
