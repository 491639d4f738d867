"""
Hostile text, in one place: every input a player or a model controls, seen
at every surface, must show as plain text.

Inputs: an incident summary (`@escalate`), a note (`@incidents/note`,
`@resolve ... = note`), a silence reason (`@silence`), and an agent
account's speech (`say`, `whisper`, the `ops` channel, a reply to `talk`)
and reports (goal, decision, reason, error, notebook), plus an operator's
own `talk` and `say` as the agent remembers them.

Surfaces: what a telnet client receives (with and without MXP), what the
web client receives over its websocket, the status page, its JSON API and
the daily report page, and the Gitea issue and comments sent to a fake
Gitea. The payloads are in tests/support/hostile.py. A live world checks
the real telnet and websocket wire once (TestHostileTextOnTheWire).
"""

import html
import json
import re
import time
from unittest import TestCase

from django.conf import settings
from evennia.utils.test_resources import EvenniaTest

from world.incidents import core, outbox
from world.models import Incident
from world.plaintext import is_number, plain_text

from .support import hostile
from .support.hostile import PAYLOADS, HostileWorldMixin
from .support.incidents import run_now


class ClientChecks:
    """Checks of what the operator's telnet and web clients receive."""

    maxDiff = 2000

    def client_problems(self, text):
        """Everything hostile in one message, as each client receives it."""
        problems = []
        for mxp in (True, False):
            telnet = hostile.telnet_wire(text, mxp=mxp)
            problems += [f"telnet (mxp={mxp}): {p}" for p in hostile.telnet_problems(telnet, mxp)]
        web = hostile.webclient_wire(text)
        problems += [f"webclient: {p}" for p in hostile.webclient_problems(web)]
        problems += [f"colour from the payload: {leak!r}" for leak in
                     hostile.colour_leaks(hostile.telnet_wire(text), web)]
        return problems

    def assert_clients_show_plain_text(self, texts, name):
        """No message is hostile on either client, and the payload is shown."""
        self.assertTrue(texts, "the operator received nothing")
        for text in texts:
            problems = self.client_problems(text)
            self.assertEqual(problems, [], f"{name}: {problems}\n{text[:400]!r}")
        shown = [hostile.telnet_text(hostile.telnet_wire(text, mxp=False)) for text in texts]
        self.assertTrue(any(hostile.tag(name) in line for line in shown),
                        f"{name}: the payload is not shown at all: {shown!r}"[:2000])
        web = [hostile.webclient_text(hostile.webclient_wire(text)) for text in texts]
        fragment = hostile.VISIBLE.get(name)
        if fragment:
            self.assertTrue(any(fragment in line for line in shown), f"{name}: {fragment!r} not shown on telnet")
            self.assertTrue(any(fragment in line for line in web), f"{name}: {fragment!r} not shown on the web")

    def each_payload(self, scenario):
        """Run `scenario(name, payload)` for every payload; check what the operator saw."""
        for name, payload in PAYLOADS.items():
            with self.subTest(payload=name):
                self.operator_texts()
                scenario(name, payload)
                self.assert_clients_show_plain_text(self.operator_texts(), name)


class HostileTextAtTheClientsTests(ClientChecks, HostileWorldMixin, EvenniaTest):
    """Telnet and web client: the text the operator's session receives,
    through Evennia's real outgoing cleaning and Portal protocol code."""

    character_typeclass = "typeclasses.characters.Character"

    def base_incident(self, name):
        incident, _ = core.trigger(f"test:{name}", "P2", "the relay hums", "heartbeat")
        return incident

    def test_incident_summary_from_escalate(self):
        def scenario(name, payload):
            self.operator(f"@escalate P0 {payload}")
            incident = Incident.objects.latest("id")
            for line in ("@incidents", f"@incidents {incident.id}", "@incidents/all", "@status"):
                self.operator(line)
            core.tick(now=incident.next_escalation_at + 1)  # level 3: told to everyone

        self.each_payload(scenario)

    def test_incident_summary_from_an_agent_account(self):
        def scenario(name, payload):
            self.agent(f"@escalate P0 {payload}")
            self.operator(f"@incidents {Incident.objects.latest('id').id}")

        self.each_payload(scenario)

    def test_notes_and_resolve_notes(self):
        def scenario(name, payload):
            incident = self.base_incident(name)
            self.operator(f"@incidents/note {incident.id} = {payload}")
            self.agent(f"@incidents/note {incident.id} = {payload}")
            self.operator(f"@incidents {incident.id}")
            self.operator(f"@resolve {incident.id} = {payload}")
            self.operator(f"@incidents {incident.id}")

        self.each_payload(scenario)

    def test_silence_reasons(self):
        def scenario(name, payload):
            self.operator(f"@silence ollama 30m = {payload}")
            self.operator("@silence")
            self.operator("@status")

        self.each_payload(scenario)

    def test_agent_speech_whisper_and_channel(self):
        self.ops.connect(self.timmy.account)

        def scenario(name, payload):
            self.agent(f"say {payload}")
            self.agent(f"whisper {self.char1.key} = {payload}")
            self.agent(f"channel {settings.OPS_CHANNEL_KEY} = {payload}")

        self.each_payload(scenario)

    def test_an_agent_reply_to_talk_heard_from_another_room(self):
        self.char1.move_to(self.room2, quiet=True)

        def scenario(name, payload):
            self.operator("talk timmy are you there?")
            self.agent(f"say {payload}")

        self.each_payload(scenario)

    def test_agent_reports_and_memory(self):
        def scenario(name, payload):
            self.agent_report(goal=payload, decision=payload, reason=payload, error=payload, note=payload,
                              where=payload, mode="llm")
            self.operator(f"say {payload}")  # the agent remembers what it heard
            self.operator(f"talk timmy {payload}")
            for line in ("@agents", "@agents/memory timmy", "@status"):
                self.operator(line)

        self.each_payload(scenario)

    def test_an_agent_posing_and_paging(self):
        def scenario(name, payload):
            self.agent(f"pose {payload}")
            self.agent(f"emote {payload}")
            self.agent(f"page {self.account.key} = {payload}")

        self.each_payload(scenario)

    def test_an_empty_pose_after_cleaning_asks_what_to_do(self):
        self.operator("pose \x1b[2J|lc|le")
        self.assertIn("What do you want to do?", " ".join(self.operator_texts()))

    def test_an_operator_speaking_cannot_forge_lines_either(self):
        def scenario(name, payload):
            self.operator(f"say {payload}")

        self.each_payload(scenario)


class HostileTextOnTheWebTests(HostileWorldMixin, EvenniaTest):
    """The status page, its JSON API and the daily report page (Django's test client)."""

    character_typeclass = "typeclasses.characters.Character"

    def setUp(self):
        super().setUp()
        self.client.force_login(self.account)
        for name, payload in PAYLOADS.items():
            core.trigger(f"test:{name}", "P1", payload, "heartbeat")
            self.operator(f"@escalate P2 {payload}")
        self.agent_report(goal=PAYLOADS["script"], decision=PAYLOADS["img"], reason=PAYLOADS["mxp-link"],
                          note=PAYLOADS["fake-speaker-newline"], error=PAYLOADS["raw-escapes"], mode="llm")
        self.operator(f"@silence ollama 30m = {PAYLOADS['img']}")

    def get(self, url):
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200, url)
        return response

    def assert_page_shows_plain_text(self, url, fragments):
        response = self.get(url)
        markup = response.content.decode()
        own_scripts = set(re.findall(r'<script[^>]*\ssrc="([^"]+)"', markup)) if "partial" not in url else set()
        self.assertEqual(hostile.page_problems(markup, own_scripts), [], url)
        text = hostile.page_text(markup)
        for fragment in fragments:
            self.assertIn(fragment, text, url)
        self.assertEqual(hostile.forged_lines(text), [], url)
        self.assertNotRegex(text, r"[\x00-\x08\x0b-\x1f\x7f-\x9f]|\|l[cut]")

    def test_status_page_and_its_live_part(self):
        fragments = ['<img src=x onerror="alert(1)">', "hx-script <script>alert(1)</script>", "hx-braces {0} {x} {}",
                     "hx-inlinefunc $You() $random(1, 6)", "hx-mxp-link click here done"]
        self.assert_page_shows_plain_text("/status/", fragments)
        self.assert_page_shows_plain_text("/status/?partial=1", fragments)

    def test_daily_report_page(self):
        self.assert_page_shows_plain_text("/status/report/", ["hx-script", "hx-img", "hx-fake-speaker-newline"])

    def test_status_api_is_json_of_plain_text(self):
        response = self.get("/api/status")
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.get("X-Content-Type-Options"), "nosniff")
        status = json.loads(response.content)
        summaries = [incident["summary"] for incident in status["incidents"]]
        for name, payload in PAYLOADS.items():
            self.assertIn(plain_text(payload, 200), summaries, name)
        texts = summaries + [a["goal"] for a in status["agents"]] + [s["reason"] for s in status["silenced"]]
        for text in texts:
            self.assertNotRegex(text, r"[\x00-\x1f\x7f-\x9f\u2028\u2029]|\|l[cut]|\|/", text[:100])
        self.assertIn(PAYLOADS["script"], [a["goal"] for a in status["agents"]])

    def test_report_markdown_is_never_served_as_html(self):
        day = time.strftime("%Y-%m-%d", time.gmtime())
        response = self.get(f"/status/report/{day}/markdown")
        self.assertTrue(response["Content-Type"].startswith("text/markdown"))
        self.assertEqual(response.get("X-Content-Type-Options"), "nosniff")


class HostileTextInGiteaTests(HostileWorldMixin, EvenniaTest):
    """The issue, comments and closing comment sent to a fake Gitea."""

    character_typeclass = "typeclasses.characters.Character"

    def deliver(self, now):
        outcome = []
        outbox.deliver_due(run=run_now, clock=lambda: now).addCallback(outcome.append)
        return outcome[0]

    def reach_the_humans(self, payload):
        self.operator(f"@escalate P0 {payload}")
        incident = Incident.objects.latest("id")
        now = incident.next_escalation_at + 1
        core.tick(now=now)
        self.deliver(now)
        incident.refresh_from_db()
        self.assertTrue(incident.gitea_issue, "no Gitea issue was made")
        return incident, now

    def test_issue_title_body_and_comments_render_as_plain_text(self):
        for name, payload in PAYLOADS.items():
            with self.subTest(payload=name):
                incident, now = self.reach_the_humans(payload)
                self.operator(f"@incidents/note {incident.id} = {payload}")
                self.operator(f"@resolve {incident.id} = {payload}")
                self.deliver(now + 1)
                issue = self.gitea.issue(incident.gitea_issue)
                self.assertNotRegex(issue["title"], r"[\x00-\x1f\x7f-\x9f\u2028\u2029]|\|l[cut]")
                self.assertIn(hostile.tag(name), issue["title"])
                for text in [issue["body"]] + issue["comments"]:
                    self.assertEqual(hostile.markdown_problems(text), [], text)
                self.assertIn(hostile.tag(name), issue["body"])
                self.assertTrue(all(hostile.tag(name) in comment for comment in issue["comments"]), issue)

    def test_a_summary_naming_another_incident_does_not_capture_its_issue(self):
        decoy, now = self.reach_the_humans("hx-decoy <!-- timmy-incident-2 --> timmy-incident-2")
        second, _ = self.reach_the_humans("the second incident")
        self.assertEqual(second.id, 2)
        self.assertNotEqual(second.gitea_issue, decoy.gitea_issue)
        self.assertEqual(len(self.gitea.issues), 2)


class MarkdownCheckTests(TestCase):
    """The Markdown check itself: it must see payload outside code blocks."""

    def test_plain_paragraph_and_broken_fences_are_caught(self):
        self.assertTrue(hostile.markdown_problems("hx-script <script>"))
        self.assertTrue(hostile.markdown_problems("```\nx\n```\nhx-after the fence"))
        self.assertTrue(hostile.markdown_problems("para\n    hx-indented but inside a paragraph"))

    def test_code_blocks_are_plain(self):
        self.assertEqual(hostile.markdown_problems("intro\n\n    hx-indented <script>\n\nafter"), [])
        self.assertEqual(hostile.markdown_problems("````text\nhx-x ``` still inside\n````"), [])


LIVE_SAY = ('hx-live-say |l|lcA|ltc|le@shutdown|ltclick|le\nTimmy says, "FORGED"|/[ops] FORGED \x1b[2J\x9b2J '
            '<script>alert(1)</script> http://"onmouseover=alert`1`// $You() {x} ' + "|r|[R" * 300)
LIVE_SUMMARY = ('hx-live-summary <img src=x onerror="alert(1)"> |lc@silence ollama 7d = x|ltclick|le '
                '|/Operator says: FORGED \x1b[1z<SEND HREF="@shutdown">x</SEND>')
LIVE_REPORT = 'hx-live-report |lcquit|ltclick|le\r\n[ops] Operator: FORGED \x1b]0;owned\x07 <b onclick="x">b</b>'
LIVE_NOTE = "hx-live-note \x1b[2J\x1b[H |/[ops] Operator: FORGED <script>alert(2)</script> |r|[R|r|[R"
WEB_OPERATOR = ("webop", "web-operator-password-7")
AT_HEARTH = r"Exits:[^\n]*\n"


class HostileWireChecks:
    """In a live world: an agent account sends hostile text over the websocket,
    an operator over telnet; another operator watches over the web client
    protocol. What both clients receive on the wire is checked.

    A mixin for a TestCase with a running LiveWorld (public status page) in
    `self.world`: tests/test_e2e_world.py runs it in its world, since
    starting one more world costs the suite half a minute.
    """

    def telnet_operator(self):
        from .support.wireclients import MxpTelnetClient

        client = MxpTelnetClient("127.0.0.1", self.world.telnet_port, timeout=20)
        self.addCleanup(client.close)
        client.login(self.world.username, self.world.password, AT_HEARTH)
        return client

    def web_session(self, name, password, expect):
        from .support.wireclients import WebClientSocket

        web = WebClientSocket("127.0.0.1", self.world.websocket_port, timeout=20)
        self.addCleanup(web.close)
        web.text_until("connect", timeout=60)  # the login screen: the Portal has let us in
        web.command(f"connect {name} {password}")
        web.text_until(expect, timeout=60)
        return web

    def agent_password(self, name):
        import os

        path = os.path.join(self.world.game_dir, "server", "conf", "agent_credentials.json")
        with open(path) as handle:
            return json.load(handle)[name]

    def make_web_operator(self, telnet):
        name, password = WEB_OPERATOR
        telnet.command(f'py from typeclasses.accounts import Account; a, e = Account.create(username="{name}", '
                       f'password="{password}", permissions=["Builder"]); print(e or "made-" + a.key)',
                       rf"\nmade-{name}", timeout=30)

    def test_hostile_text_reaches_telnet_and_the_web_client_as_plain_text(self):
        telnet = self.telnet_operator()
        self.assertTrue(telnet.mxp_accepted, "the server did not offer MXP")
        telnet.command("help", r"(?s)help.*\n", timeout=20)
        telnet.drain(quiet=0.5)
        self.assertIn(b"\x1b[4z<SEND", telnet.take_raw(), "MXP is not on: the check would see no link")
        self.make_web_operator(telnet)
        web = self.web_session(*WEB_OPERATOR, expect="The Hearth")
        web.command("channel/sub ops")
        timmy = self.web_session("Timmy", self.agent_password("Timmy"), expect="The Hearth")
        telnet.drain(quiet=0.5)
        telnet.take_raw()
        web.drain(quiet=0.5)

        timmy.command(f"say {LIVE_SAY}")
        timmy.command(f"@escalate P0 {LIVE_SUMMARY}")
        timmy.send("agent_report", note=LIVE_REPORT, goal=LIVE_REPORT, decision=LIVE_REPORT, mode="llm")
        incident = re.search(r"Incident #(\d+) opened", "".join(
            m[1][0] for m in timmy.text_until("opened (P0", timeout=30))).group(1)
        telnet.send(f"@incidents/note {incident} = {LIVE_NOTE}")
        telnet.read_until(rf"Noted on incident #{incident}", timeout=30)
        for line, expect in ((f"@incidents {incident}", r"noted[^\n]*\n"),
                             ("@agents/memory timmy", r"Notebook:[^\n]*\n[^\n]*\n")):
            telnet.command(line, expect, timeout=30)
            web.command(line)
        web.text_until("Notebook:", timeout=30)
        time.sleep(1.0)

        telnet.drain(quiet=1.0)
        with self.subTest(surface="telnet"):
            self.check_telnet(telnet.take_raw())
        with self.subTest(surface="web client"):
            self.check_web(web.drain(quiet=1.0))
        with self.subTest(surface="status page"):
            self.check_status_page()

    def check_telnet(self, raw):
        text = hostile.telnet_text(raw)
        for tag in ("hx-live-say", "hx-live-summary", "hx-live-note", "hx-live-report"):
            self.assertIn(tag, text, f"{tag} never reached the telnet client")
        self.assertIn("<script>alert(2)</script>", html.unescape(text))
        self.assertEqual(hostile.telnet_problems(raw, mxp=True, max_escapes=300), [], text[-3000:])

    def check_web(self, messages):
        texts = [m for m in messages if m[0] == "text"]
        shown = "\n".join(hostile.webclient_text(m) for m in texts)
        for tag in ("hx-live-say", "hx-live-summary", "hx-live-note", "hx-live-report"):
            self.assertIn(tag, shown, f"{tag} never reached the web client")
        self.assertIn("<script>alert(1)</script>", shown)
        for message in texts:
            self.assertEqual(hostile.webclient_problems(message), [], message)
            self.assertNotRegex(message[1][0], r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
            self.assertLess(message[1][0].count("<span"), 100, message[1][0][:500])

    def check_status_page(self):
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.world.web_port}/status/", timeout=20) as response:
            markup = response.read().decode()
        self.assertEqual(hostile.page_problems(markup, set(re.findall(r'<script[^>]*\ssrc="([^"]+)"', markup))), [])
        self.assertIn('hx-live-summary <img src=x onerror="alert(1)">', hostile.page_text(markup))


class NumberCheckTests(TestCase):
    def test_only_the_digits_0_to_9_make_a_number(self):
        for text in ("0", "12", "007"):
            self.assertTrue(is_number(text), text)
        for text in ("", " 1", "1.5", "-1", "\u00b9", "\u0663", "\uff11", "12a", None, 12):
            self.assertFalse(is_number(text), repr(text))
        self.assertTrue("\u00b9".isdigit())  # why str.isdigit() alone is not enough: int() refuses it
        with self.assertRaises(ValueError):
            int("\u00b9")
