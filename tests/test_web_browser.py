"""
The website, the web client and the status page in a real headless Chromium,
against a real world (a temporary copy of the game on free ports).

Needs Debian's chromium and chromium-driver (`bin/ensure-browser`) and
selenium (requirements-browser.txt). Without them these tests fail under
CI=true and are skipped elsewhere. Screenshots go to tests/artifacts/.
"""

import json
import os
import re
import secrets
import urllib.error
import urllib.request
from unittest import TestCase

from .support.browser import Browser, require_browser
from .support.fake_http import FakeHTTPService, Route
from .support.liveworld import LiveWorld

OLLAMA_ROUTES = {
    "/api/version": Route(200, {"version": "0.5.7"}),
    "/api/tags": Route(200, {"models": [{"name": "llama3.2:3b"}]}),
}
SERVICES = ("ollama", "gitea", "evennia", "disk", "agents", "backup")
# The strip's colours in status.css, by state.
STATE_FILLS = {"up": "rgb(46, 157, 79)", "degraded": "rgb(217, 154, 30)", "down": "rgb(210, 60, 60)",
               "unknown": "rgb(154, 163, 173)"}


class BrowserTests(TestCase):
    """One world and one logged-in browser for the whole class.

    The world's Ollama is a fake HTTP service, the heartbeat beats every 2
    seconds, and the status API has a read-only token.
    """

    expected_seconds = 20  # roughly; the parallel runner starts the slowest classes first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_browser()
        cls.token = secrets.token_urlsafe(24)
        cls.ollama = FakeHTTPService(OLLAMA_ROUTES).start()
        cls.world = LiveWorld(extra_env={
            "OLLAMA_HOST": cls.ollama.url, "TIMMY_HEARTBEAT_INTERVAL": "2", "TIMMY_AGENTS": "0",
        })
        cls.browser = None
        try:
            cls.write_secret_settings()
            cls.world.start()
            cls.base = f"http://127.0.0.1:{cls.world.web_port}"
            cls.browser = Browser()
            cls.browser.login(cls.base, cls.world.username, cls.world.password)
        except BaseException:
            cls.shut_down()
            raise

    @classmethod
    def write_secret_settings(cls):
        """The copy's secret settings: a SECRET_KEY and the status API token."""
        path = os.path.join(cls.world.game_dir, "server", "conf", "secret_settings.py")
        with open(path, "w") as handle:
            handle.write(f"SECRET_KEY = {secrets.token_urlsafe(40)!r}\nTIMMY_STATUS_TOKEN = {cls.token!r}\n")

    @classmethod
    def shut_down(cls):
        if cls.browser:
            cls.browser.quit()
        strays = cls.world.stop()
        cls.world.cleanup()
        cls.ollama.stop()
        return strays

    @classmethod
    def tearDownClass(cls):
        strays = cls.shut_down()
        super().tearDownClass()
        assert not strays, f"processes left after stop: {strays}"

    # helpers

    def webclient_send(self, line, expect, timeout=20):
        """Type a line into the web client; return the output once `expect` (a regex) shows."""
        from selenium.webdriver.common.keys import Keys

        browser = self.browser
        browser.run_js("document.getElementById('messagewindow').innerHTML = '';")
        field = browser.find("#inputfield")
        field.click()
        field.send_keys(line, Keys.ENTER)
        return browser.wait_for(
            lambda: (lambda text: text if re.search(expect, text) else None)(browser.find("#messagewindow").text),
            timeout=timeout, message=f"{expect!r} after {line!r}",
        )

    def open_status_page_with_ollama_charted(self):
        """Open /status/ and refresh it until ollama is up and charted."""
        browser = self.browser
        browser.console_errors()  # drop messages from earlier pages
        browser.get(f"{self.base}/status/")
        browser.wait_for(lambda: browser.find_all("#services-table"), message="the services table")

        def ollama_charted():
            row = browser.find('#services-table tr[data-service="ollama"]').text
            drawn = browser.find_all('svg.chart[data-service="ollama"] path.latency')
            if " up " in f" {row} " and drawn:
                return True
            browser.driver.execute_async_script("window.timmyStatus.refresh().then(arguments[0]);")
            return False

        browser.wait_for(ollama_charted, timeout=40, interval=1.0, message="ollama up with a latency line")

    def api(self, path, token=None):
        """GET a status API path over real HTTP; return (status, JSON body)."""
        request = urllib.request.Request(f"{self.base}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    # tests

    def test_webclient_look_and_status_after_website_login(self):
        browser = self.browser
        browser.console_errors()  # drop messages from earlier pages
        browser.get(f"{self.base}/webclient/")
        browser.wait_for(lambda: browser.find("#inputfield").is_displayed(), message="the web client input")
        browser.wait_for(lambda: browser.find("#messagewindow").text.strip(), message="the web client to connect")
        look = self.webclient_send("look", r"Exits:[^\n]*")
        self.assertIn("The Hearth", look)
        self.assertRegex(look, r"Exits: forge, oracle, and vault")
        browser.screenshot("webclient-look")
        status = self.webclient_send("@status", r"Heartbeat: last beat[^\n]*")
        self.assertIn("Timmy World status", status)
        self.assertRegex(status, r"Service\s+State\s+Latency\s+Since\s+Checked\s+Reason")
        for name in SERVICES:
            self.assertRegex(status, rf"(?m)^{name}\s+(up|degraded|down|unknown)\b", name)
        self.assertIn("every 2s", status)
        browser.screenshot("webclient-status")
        self.assertEqual(browser.console_errors(), [])
        outside = [url for url in browser.resources() if not url.startswith(self.base)]
        self.assertEqual(outside, [], "the web client loaded something from elsewhere")

    def test_status_page_shows_the_services_and_draws_the_charts(self):
        browser = self.browser
        self.open_status_page_with_ollama_charted()
        rows = {row.get_attribute("data-service"): row.text
                for row in browser.find_all("#services-table tbody tr[data-service]")}
        self.assertEqual(tuple(rows), SERVICES)
        self.assertRegex(rows["ollama"], r"^ollama up \d+ ms .*\d+\.\d%")
        self.assertRegex(rows["evennia"], r"^evennia (up|unknown)")
        self.assertRegex(rows["gitea"], r"gitea unknown .*not configured")
        self.assertIn("Heartbeat: last beat", browser.find("#heartbeat-line").text)
        _, api = self.api("/api/status", token=self.token)
        agents = [row.get_attribute("data-agent") for row in browser.find_all("#agents-table tr[data-agent]")]
        self.assertEqual(agents, [agent["name"] for agent in api["agents"]])
        if not agents:
            self.assertIn("No agents yet", browser.find("#agents-none").text)
        self.assertIn("Gitea not configured", browser.find("#escalation-line").text)

        chart = browser.find('svg.chart[data-service="ollama"]')
        geometry = browser.run_js(
            """
            var svg = arguments[0], path = svg.querySelector('path.latency');
            var runs = Array.prototype.slice.call(svg.querySelectorAll('rect.run'));
            return {
                svgWidth: svg.getBoundingClientRect().width,
                pathLength: path.getTotalLength(),
                pathStroke: getComputedStyle(path).stroke,
                runs: runs.map(function (r) {
                    return {width: r.getBoundingClientRect().width, fill: getComputedStyle(r).fill,
                            state: r.getAttribute('class').replace('run state-', '')};
                })
            };
            """,
            chart,
        )
        self.assertGreater(geometry["svgWidth"], 200)
        self.assertGreater(geometry["pathLength"], 0)
        self.assertNotIn(geometry["pathStroke"], ("none", ""))
        self.assertTrue(geometry["runs"], "no availability strip drawn")
        self.assertTrue(all(run["width"] > 0 for run in geometry["runs"]))
        for run in geometry["runs"]:
            self.assertEqual(run["fill"], STATE_FILLS[run["state"]], run)
        uptime = browser.find('figure.panel[data-service="ollama"] .uptime').text
        self.assertRegex(uptime, r"uptime \d+\.\d% \(24 h\)")
        self.assertEqual(len(browser.find_all("svg.chart")), len(SERVICES))
        browser.driver.execute_script("window.scrollTo(0, 0);")
        browser.screenshot("status-page")
        self.assertEqual(browser.console_errors(), [])
        outside = [url for url in browser.resources() if not url.startswith(self.base)]
        self.assertEqual(outside, [], "the status page loaded something from elsewhere")

    def test_status_page_refreshes_itself(self):
        browser = self.browser
        browser.get(f"{self.base}/status/")
        before = browser.find("#generated-at").get_attribute("datetime")
        browser.wait_for(lambda: browser.run_js("return new Date().toISOString().slice(0, 19) + 'Z'") > before,
                         message="the clock to tick")
        done = browser.driver.execute_async_script("window.timmyStatus.refresh().then(arguments[0]);")
        self.assertTrue(done)
        self.assertEqual(browser.find("#status-root").get_attribute("data-refreshes"), "1")
        self.assertGreater(browser.find("#generated-at").get_attribute("datetime"), before)
        self.assertTrue(browser.find_all('#services-table tr[data-service="ollama"]'))
        self.assertEqual(browser.find("#status-root").get_attribute("data-refresh-seconds"), "30")

    def test_front_page_links_the_status_page_and_loads_everything_locally(self):
        browser = self.browser
        browser.console_errors()  # drop messages from earlier pages
        browser.get(f"{self.base}/")
        self.assertEqual([url for url in browser.resources() if not url.startswith(self.base)], [])
        self.assertEqual(browser.run_js("return getComputedStyle(document.querySelector('.navbar')).display"), "flex",
                         "Bootstrap's CSS is not applied")
        self.assertEqual(browser.console_errors(), [])
        browser.screenshot("front-page")
        browser.find("#fleet-status-link").click()
        browser.wait_for(lambda: browser.driver.current_url.endswith("/status/"), message="the status page")
        self.assertTrue(browser.find_all("#services-table"))

    def test_status_page_needs_a_login_and_returns_after_it(self):
        anonymous = Browser()
        try:
            anonymous.get(f"{self.base}/status/")
            self.assertIn("/auth/login/?next=/status/", anonymous.driver.current_url)
            self.assertFalse(anonymous.find_all("#services-table"))
            self.assertEqual([url for url in anonymous.resources() if not url.startswith(self.base)], [])
            self.assertEqual(anonymous.console_errors(), [])
            anonymous.screenshot("status-login-required")
            from selenium.webdriver.common.keys import Keys

            anonymous.find("#id_username").send_keys(self.world.username)
            anonymous.find("#id_password").send_keys(self.world.password, Keys.ENTER)
            anonymous.wait_for(lambda: anonymous.driver.current_url.endswith("/status/"),
                               message="the status page after logging in")
            self.assertTrue(anonymous.find_all("#services-table"))
        finally:
            anonymous.quit()

    def test_api_over_http_needs_the_token(self):
        status, body = self.api("/api/status")
        self.assertEqual((status, body["error"]), (401, "authentication required"))
        status, body = self.api("/api/status", token=self.token[:-1])
        self.assertEqual((status, body["error"]), (401, "invalid token"))
        status, body = self.api("/api/status", token=self.token)
        self.assertEqual(status, 200)
        self.assertEqual(tuple(s["name"] for s in body["services"]), SERVICES)
        self.assertNotIn(self.token, json.dumps(body))
        status, body = self.api("/api/status/ollama/history?hours=24", token=self.token)
        self.assertEqual(status, 200)
        self.assertEqual(body["bucket_seconds"], 300)
        self.assertGreater(body["samples"], 0)
        status, body = self.api("/api/status/nosuch/history", token=self.token)
        self.assertEqual(status, 404)
        status, body = self.api("/api/status/ollama/history?hours=soon", token=self.token)
        self.assertEqual(status, 400)
