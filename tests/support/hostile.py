"""
Hostile text: the payloads, what each client really receives, and the checks.

The payloads are what a hostile player or model types: MXP links, raw HTML,
ANSI floods and raw escape sequences, line breaks that fake another speaker,
format braces, Evennia inline functions, Markdown. Each carries a tag word
(`hx-<name>`) so a test can find its line wherever it is shown.

`telnet_wire` and `webclient_wire` run text through Evennia's own Portal
protocol code (`TelnetProtocol.send_text`, `WebSocketClient.send_text`), so
the bytes checked are those a telnet client or a browser receives; the
`*_problems` functions name everything hostile that got through.
"""

import html
import json
import re
from html.parser import HTMLParser

# The text after a payload's line break says FORGED: a line holding it
# without the payload's tag word is a forged line (another speaker's).
FORGED = "FORGED"
ANSI_FLOOD_REPEAT = 2000

PAYLOADS = {
    "mxp-link": "hx-mxp-link |lc@silence ollama 7d = owned|ltclick here|le done",
    "mxp-split": "hx-mxp-split |l|lcA|ltc|le@shutdown|ltclick|le",
    "mxp-webclient": 'hx-mxp-webclient |lc\\");alert(1);//|ltclick|le',
    "mxp-url": "hx-mxp-url |luhttp://evil.example/|ltthe docs|le",
    "mxp-send": 'hx-mxp-send <SEND HREF="@shutdown">click</SEND> \x1b[1z<A HREF="http://evil.example">x</A>',
    "fake-speaker-markup": 'hx-fake-speaker-markup|/Timmy says, "FORGED drop the database"',
    "fake-speaker-newline": "hx-fake-speaker-newline\nOperator says: FORGED restore\r\n[ops] Operator: FORGED ok",
    "fake-speaker-unicode": 'hx-fake-speaker-unicode\u2028Timmy says, "FORGED"\u2029FORGED\x85[ops] FORGED\x0bFORGED',
    "script": "hx-script <script>alert(1)</script>",
    "img": 'hx-img <img src=x onerror="alert(1)">',
    "ansi-flood": "hx-ansi-flood " + "|r|[R|*|^" * ANSI_FLOOD_REPEAT + " end",
    "raw-escapes": "hx-raw-escapes \x1b[2J\x1b[H\x1b]0;owned\x07\x9b2J\x1b[31mred\x07\x00",
    "braces": "hx-braces {0} {x} {} {{ }} %s %(x)s {speech} {object}",
    "inlinefunc": "hx-inlinefunc $You() $random(1, 6) $pron(you) $conj(smile)",
    "url-breakout": 'hx-url-breakout http://"onmouseover=alert`1`// https:// "onclick=alert`2`//',
    "bidi": "hx-bidi \u202eFORGED\u202c \u2066x\u2069",
    "colour": "hx-colour |rREDWORD|n |[bBACKWORD |#ff0000TRUEWORD |=aGREYWORD |uUNDERWORD",
    "markdown": "hx-markdown @admin #1 [click](http://evil.example) ![x](http://evil.example/t.png) "
                "<!-- timmy-incident-99 --> ``` # heading",
}

# Plain text is shown, not dropped: besides its tag word, these fragments of
# a payload must be visible exactly as typed.
VISIBLE = {
    "script": "<script>alert(1)</script>",
    "img": '<img src=x onerror="alert(1)">',
    "braces": "{0} {x} {}",
    "inlinefunc": "$You() $random(1, 6)",
    "mxp-link": "click here",
}


def tag(name):
    """The tag word a payload carries."""
    return f"hx-{name}"


# ---------------------------------------------------------------- the wire


class _Transport:
    """Collects what a protocol writes."""

    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


def telnet_wire(text, mxp=True):
    """The bytes Evennia's telnet protocol sends for one `text` message.

    Args:
        text (str): The text as the Server sends it to the Portal.
        mxp (bool): Whether the client negotiated MXP (links become MXP tags).

    Returns:
        bytes: What the telnet client receives.
    """
    from evennia.server.portal.telnet import TelnetProtocol

    protocol = TelnetProtocol()
    protocol.protocol_flags = {"ENCODING": "utf-8", "TTYPE": True, "ANSI": True, "XTERM256": True,
                               "MXP": mxp, "NOGOAHEAD": True}
    protocol.transport = _Transport()
    protocol.send_text(text, options={})
    return protocol.transport.data


def webclient_wire(text):
    """The websocket frame payload Evennia's webclient protocol sends for `text`.

    Returns:
        list: The decoded `["text", [html], {...}]` the browser receives.
    """
    from evennia.server.portal.webclient import WebSocketClient

    protocol = WebSocketClient()
    protocol.protocol_flags = {"ENCODING": "utf-8"}
    sent = []
    protocol.sendMessage = sent.append
    protocol.send_text(text, options={})
    return json.loads(sent[0].decode("utf-8"))


# ------------------------------------------------------------ the checks

_ESCAPE = re.compile(rb"\x1b[\[\]PX^_]?[\x20-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|\xc2[\x80-\x9f]")
_SGR = re.compile(rb"^\x1b\[[0-9;]*m$")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escape_sequences(data):
    """Every escape sequence (and C1 control) in telnet bytes."""
    return _ESCAPE.findall(data)


COLOUR_WORDS = ("REDWORD", "BACKWORD", "TRUEWORD", "GREYWORD", "UNDERWORD")


def colour_leaks(telnet, web):
    """Colour markup of the `colour` payload that reached a client as colour.

    Args:
        telnet (bytes): What a telnet client received.
        web (list): The web client's `["text", [html], {}]` message.

    Returns:
        list: The coloured words found (empty when none was coloured).
    """
    words = "|".join(COLOUR_WORDS)
    leaks = re.findall(rf"\x1b\[[0-9;]*m(?:{words})", telnet.decode("utf-8", errors="replace"))
    leaks += re.findall(rf"<span[^>]*>(?:{words})", web[1][0] if web[1] else "")
    return leaks


def forged_lines(text):
    """Lines that hold a payload's after-the-break text without its tag word."""
    lines = re.split("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]", text)
    return [line for line in lines if FORGED in line and "hx-" not in line]


def telnet_text(data):
    """Telnet bytes as the text a terminal shows (colours dropped)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", data.decode("utf-8", errors="replace"))


def telnet_problems(data, mxp=True, max_escapes=200):
    """What is hostile in telnet bytes: non-colour escapes, MXP, forged lines.

    Without MXP negotiated a raw `<SEND>` is inert text (MXP clients only
    obey it in a secure line, opened by an escape sequence); with MXP,
    Evennia must have escaped it.

    Args:
        data (bytes): What the client received.
        mxp (bool): Whether the client negotiated MXP.
        max_escapes (int): More colour codes than this in one message is a
            flood (the busiest screen, `@status`, has a few dozen).

    Returns:
        list: Descriptions of the problems (empty when clean).
    """
    problems = []
    escapes = escape_sequences(data)
    foreign = [seq for seq in escapes if not _SGR.match(seq)]
    if foreign:
        problems.append(f"non-colour escape sequences {foreign[:5]!r}")
    if len(escapes) > max_escapes:
        problems.append(f"{len(escapes)} escape sequences in one message (a flood)")
    text = data.decode("utf-8", errors="replace")
    if re.search(r"\x1b\[\d+z", text):
        problems.append("an MXP mode switch")
    if mxp and re.search(r"(?i)<(?:send|a|image|expire|version|support|!element|!entity)\b", text):
        problems.append("a raw MXP tag to an MXP client")
    if re.search(r"\|l[cut]|\|le", text):
        problems.append("Evennia link markup")
    if _BIDI.search(text):
        problems.append("a bidirectional override")
    forged = forged_lines(telnet_text(data))
    if forged:
        problems.append(f"a forged speaker line {forged!r}")
    return problems


class _Tags(HTMLParser):
    """Collects every tag and attribute of an HTML fragment, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.script_text = [], [], []
        self._in_script = False

    def handle_starttag(self, name, attrs):
        self.tags.append((name, dict(attrs)))
        self._in_script = name in ("script", "style")
        if name == "br":
            self.text.append("\n")

    def handle_startendtag(self, name, attrs):
        self.handle_starttag(name, attrs)

    def handle_endtag(self, name):
        self._in_script = False

    def handle_data(self, data):
        (self.script_text if self._in_script else self.text).append(data)


def html_parts(markup):
    """(tags, visible text, script text) of an HTML fragment or page."""
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags, "".join(parser.text), "".join(parser.script_text)


WEBCLIENT_TAGS = {"span": {"class", "style"}, "br": set(), "div": {"class", "style"}}


def webclient_problems(message):
    """What is active in a webclient `text` message: tags, handlers, forged lines.

    The webclient puts the HTML it receives into the page, so anything but
    Evennia's own colour spans and line breaks is active content.
    """
    problems = []
    cmdname, args = message[0], message[1]
    if cmdname not in ("text", "prompt"):
        return problems
    tags, text, _ = html_parts(args[0] if args else "")
    for name, attrs in tags:
        allowed = WEBCLIENT_TAGS.get(name)
        if name == "a" and _plain_url_link(attrs):
            continue
        if allowed is None:
            problems.append(f"an active <{name}> tag {attrs}")
        elif set(attrs) - allowed:
            problems.append(f"<{name}> with attributes {sorted(set(attrs) - allowed)}")
    if _BIDI.search(text):
        problems.append("a bidirectional override")
    forged = forged_lines(text)
    if forged:
        problems.append(f"a forged speaker line {forged!r}")
    return problems


def _plain_url_link(attrs):
    """True for the web client's own link of a URL in the text (an href and a target, nothing else)."""
    href = attrs.get("href") or ""
    return set(attrs) <= {"href", "target"} and bool(re.match(r"^(?:https?|ftp)://[^\s\"]*$", href))


def webclient_text(message):
    """The visible text of a webclient `text` message."""
    return html_parts(message[1][0] if message[1] else "")[1]


def page_problems(markup, own_scripts=()):
    """What of the payloads is active in a web page: tags, handlers, script text.

    Args:
        markup (str): The page.
        own_scripts (iterable): `src` values of the page's own scripts.

    Returns:
        list: Descriptions of the problems (empty when clean).
    """
    problems = []
    tags, _, script_text = html_parts(markup)
    for name, attrs in tags:
        if name in ("script", "img", "iframe", "send", "object", "embed") and attrs.get("src") not in own_scripts:
            problems.append(f"<{name}> {attrs}")
        handlers = [key for key in attrs if key.startswith("on")]
        if handlers:
            problems.append(f"<{name}> with event handlers {handlers}")
        if any("hx-" in (value or "") or "evil.example" in (value or "") for value in attrs.values()):
            problems.append(f"payload inside an attribute of <{name}>: {attrs}")
    if "alert(1)" in script_text:
        problems.append("payload inside a script")
    return problems


def page_text(markup):
    """The visible text of a page, entities decoded."""
    return html.unescape(html_parts(markup)[1])


# ------------------------------------------------------------ markdown


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def markdown_outside_code(body):
    """The lines of a Markdown document that are not inside a code block.

    A CommonMark subset, enough to judge our own bodies: fenced blocks
    (closed by a fence of the same character at least as long, with no info
    string) and indented blocks (four spaces, after a blank line or another
    indented line; an indented line cannot interrupt a paragraph).
    """
    outside, fence, previous_blank, in_indented = [], None, True, False
    for line in body.split("\n"):
        if fence:
            match = _FENCE.match(line)
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence) and not match[2].strip():
                fence = None
            continue
        match = _FENCE.match(line)
        if match and not (match[1][0] == "`" and "`" in match[2]):
            fence, in_indented = match[1], False
            continue
        indented = line.startswith(("    ", "\t")) and line.strip()
        if indented and (previous_blank or in_indented):
            in_indented = True
            continue
        in_indented = False
        previous_blank = not line.strip()
        outside.append(line)
    return outside


def markdown_problems(body):
    """Payload text that a Markdown renderer would not show as plain text."""
    problems = []
    for line in markdown_outside_code(body):
        if "hx-" in line or FORGED in line or "evil.example" in line:
            problems.append(f"payload outside a code block: {line[:120]!r}")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]", body):
        problems.append("control characters in the body")
    return problems


# ------------------------------------------------------------ fixtures


class HostileWorldMixin:
    """An operator (char1, a Developer, on ops) and two agents, Timmy and Ezra.

    Timmy is an AgentCharacter puppeted by its own agent account through a
    session, as the runtime does; Ezra is offline. A fake Gitea is
    configured. Everything the Server sends to a session is recorded after
    Evennia's own outgoing cleaning (`clean_senddata`), as it would cross to
    the Portal.
    """

    def setUp(self):
        super().setUp()
        from django.test import override_settings

        from .fake_gitea import FakeGitea

        self.gitea = FakeGitea().start()
        self.addCleanup(self.gitea.stop)
        override = override_settings(GITEA_URL=self.gitea.url, GITEA_TOKEN=self.gitea.token,
                                     GITEA_REPO=self.gitea.repo, GITEA_TIMEOUT=2,
                                     INCIDENT_ON_DUTY="Timmy", INCIDENT_PEER="Ezra")
        override.enable()
        self.addCleanup(override.disable)
        self.received = []
        self._record_sessions()
        self.ops = self._ops_channel()
        self.account.puppet_object(self.session, self.char1)
        self.timmy, self.timmy_session = self._agent("Timmy", sessid=2)
        self.ezra, _ = self._agent("Ezra", sessid=None)
        self.received.clear()

    def _record_sessions(self):
        import evennia

        handler = evennia.SESSION_HANDLER

        def data_out(session, **kwargs):
            self.received.append((session, handler.clean_senddata(session, kwargs)))

        handler.data_out = data_out

    def _ops_channel(self):
        from django.conf import settings
        from evennia.utils import create

        ops = create.create_channel(settings.OPS_CHANNEL_KEY, typeclass="typeclasses.channels.Channel",
                                    locks="listen:perm(Helper);send:perm(Helper)")
        ops.connect(self.account)
        return ops

    def _agent(self, name, sessid):
        import evennia
        from evennia.server.serversession import ServerSession
        from evennia.utils import create

        account = create.create_account(name, email="", password="agent-password-1",
                                        typeclass="typeclasses.accounts.Account", permissions=["Helper"])
        agent, errors = account.create_character(key=name, typeclass="typeclasses.agents.AgentCharacter",
                                                 location=self.room1, home=self.room1, permissions=["Helper"])
        assert not errors, errors
        self.addCleanup(account.delete)
        if sessid is None:
            return agent, None
        dummy = ServerSession()
        dummy.init_session("websocket", ("localhost", "agent"), evennia.SESSION_HANDLER)
        dummy.sessid = sessid
        evennia.SESSION_HANDLER.portal_connect(dummy.get_sync_data())
        session = evennia.SESSION_HANDLER.session_from_sessid(sessid)
        evennia.SESSION_HANDLER.login(session, account, testmode=True)
        account.puppet_object(session, agent)
        self.addCleanup(evennia.SESSION_HANDLER.pop, sessid, None)
        return agent, session

    # ---- inputs

    def operator(self, line):
        """The operator types a command."""
        self.char1.execute_cmd(line, session=self.session)

    def agent(self, line):
        """Timmy's agent account types a command (as its runtime, or a hostile one, would)."""
        self.timmy.execute_cmd(line, session=self.timmy_session)

    def agent_report(self, **report):
        """Timmy's runtime reports through the real input function."""
        from server.conf.inputfuncs import agent_report

        agent_report(self.timmy_session, **report)

    # ---- what the operator saw

    def operator_texts(self):
        """Every text message the operator's session received since the last call."""
        texts = [kwargs["text"][0][0] for session, kwargs in self.received
                 if session is self.session and "text" in kwargs and kwargs["text"][0]]
        self.received.clear()
        return [text for text in texts if isinstance(text, str)]
