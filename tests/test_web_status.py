"""
The status page and the status JSON API, through Django's test client:
access (session, token, public), content, bad input, no secrets, charts.
"""

import hmac
import json
import os
import re
import time
import unittest
from types import SimpleNamespace
from unittest import TestCase
from unittest.mock import patch

from django.contrib.staticfiles import finders
from django.test import override_settings
from django.urls import resolve
from evennia.utils.test_resources import EvenniaTest

from web.status import charts, data, views
from world.heartbeat import history
from world.incidents import core
from world.models import HeartbeatSample, Incident
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP
from world.status_report import service_names

from .support import browser
from .support.heartbeat import HeartbeatMixin, result

TOKEN = "status-token-7f3a9c2e5b1d8e4f"
HOUR = 3600.0
# A script, stylesheet, image or frame loaded from another host (links to other sites are fine).
EXTERNAL_RESOURCE = re.compile(r'<(?:script|img|iframe)[^>]*\ssrc="(?:https?:)?//|<link[^>]*\shref="(?:https?:)?//')


def sample(state, at, latency_ms=10.0):
    """A stand-in for a HeartbeatSample row."""
    return SimpleNamespace(state=state, checked_at=at, latency_ms=latency_ms)


class ChartGeometryTests(TestCase):
    """charts.py: buckets, the latency line and the availability strip."""

    def test_bucket_size_is_five_minutes_for_a_day_and_never_too_many(self):
        self.assertEqual(charts.bucket_seconds_for(24 * HOUR), 300)
        self.assertEqual(charts.bucket_seconds_for(HOUR), 60)
        for hours in (1, 5, 24, 48, 100, 168):
            size = charts.bucket_seconds_for(hours * HOUR)
            self.assertLessEqual(len(charts.bucketize([], 0, hours * HOUR, size)), charts.MAX_BUCKETS, hours)

    def test_bucketize_summarises_each_slot_worst_state_and_mean_latency(self):
        buckets = charts.bucketize(
            [sample(UP, 10, 10.0), sample(UP, 20, 30.0), sample(DOWN, 70, 5000.0), sample(UP, 80, 40.0),
             sample(UP, 500, 99.0), sample(UP, -5, 99.0)],
            start=0, end=180, bucket_seconds=60,
        )
        self.assertEqual(len(buckets), 3)
        self.assertEqual((buckets[0].state, buckets[0].latency_ms, buckets[0].count), (UP, 20.0, 2))
        # a down sample colours the bucket and does not count towards latency
        self.assertEqual((buckets[1].state, buckets[1].latency_ms, buckets[1].count), (DOWN, 40.0, 2))
        self.assertEqual((buckets[2].state, buckets[2].count), (None, 0))

    def test_worst_state_order(self):
        self.assertEqual(charts.worst_state([UP, DEGRADED]), DEGRADED)
        self.assertEqual(charts.worst_state([UP, UNKNOWN]), UNKNOWN)
        self.assertEqual(charts.worst_state([DEGRADED, DOWN, UP]), DOWN)

    def test_nice_ceiling(self):
        self.assertEqual([charts.nice_ceiling(v) for v in (None, 0.3, 7, 12, 180, 2001)], [1, 1, 10, 20, 200, 5000])

    def test_line_scales_to_the_plot_and_breaks_where_down(self):
        buckets = charts.bucketize([sample(UP, 30, 50.0), sample(UP, 90, 100.0), sample(DOWN, 150, None),
                                    sample(UP, 210, 100.0)], start=0, end=240, bucket_seconds=60)
        path = charts.line_path(buckets, 0, 240, scale_ms=100.0, width=240, top=0, bottom=100)
        self.assertEqual(path, "M30.0 50.0 L90.0 0.0 M210.0 0.0 h1.5")

    def test_line_bridges_short_empty_stretches_only(self):
        samples = [sample(UP, 30, 10.0), sample(UP, 150, 10.0), sample(UP, 570, 10.0)]
        buckets = charts.bucketize(samples, start=0, end=600, bucket_seconds=60)
        path = charts.line_path(buckets, 0, 600, scale_ms=10.0, max_gap_seconds=180, width=600, top=0, bottom=10)
        self.assertEqual(path, "M30.0 0.0 L150.0 0.0 M570.0 0.0 h1.5")
        self.assertEqual(charts.line_path(buckets, 0, 600, 10.0, None, 600, 0, 10),
                         "M30.0 0.0 L150.0 0.0 L570.0 0.0")

    def test_strip_merges_runs_of_one_state_and_leaves_gaps_empty(self):
        buckets = charts.bucketize([sample(UP, 10), sample(UP, 70), sample(DOWN, 130), sample(UP, 250)],
                                   start=0, end=300, bucket_seconds=60)
        rects = charts.strip_rects(buckets, 0, 300, width=300)
        self.assertEqual([(r.x, r.width, r.state) for r in rects],
                         [(0.0, 120.0, UP), (120.0, 60.0, DOWN), (240.0, 60.0, UP)])
        self.assertEqual(rects[0].label, "up for 2 min")

    def test_chart_without_samples_has_no_data(self):
        chart = charts.chart(charts.bucketize([], 0, 86400, 300), 0, 86400, "empty")
        self.assertFalse(chart.has_data)
        self.assertEqual((chart.line_path, chart.strip, chart.peak_ms), ("", [], None))


class HoursParsingTests(TestCase):
    def test_default_and_valid(self):
        self.assertEqual(data.parse_hours(None), 24)
        self.assertEqual(data.parse_hours(""), 24)
        self.assertEqual(data.parse_hours(" 6 "), 6)
        self.assertEqual(data.parse_hours(str(data.max_hours())), data.max_hours())

    def test_bad_values_are_refused(self):
        for raw in ("abc", "0", "-3", "1.5", "1e3", str(data.max_hours() + 1), "9" * 40, "24h"):
            with self.assertRaises(data.BadHours, msg=raw):
                data.parse_hours(raw)


class StatusWebMixin(HeartbeatMixin):
    """A logged-out test client, a heartbeat Script and sample helpers."""

    def setUp(self):
        super().setUp()
        self.now = time.time()

    def login(self):
        self.client.force_login(self.account)

    def add_samples(self, service, states, step=600.0, latency_ms=25.0):
        """Store samples of `service`, the last one a minute ago, `step` apart."""
        start = self.now - 60 - step * (len(states) - 1)
        HeartbeatSample.objects.bulk_create(
            HeartbeatSample(service=service, state=state, latency_ms=None if state == DOWN else latency_ms + i,
                            reason=state, checked_at=start + i * step)
            for i, state in enumerate(states)
        )

    def get_json(self, url, **headers):
        response = self.client.get(url, **headers)
        self.assertEqual(response["Content-Type"], "application/json", response.content[:200])
        return response, json.loads(response.content)


class StatusPageTests(StatusWebMixin, EvenniaTest):
    def test_page_needs_a_login(self):
        response = self.client.get("/status/")
        self.assertEqual(response.status_code, 302)
        self.assertRegex(response["Location"], r"^/auth/login/\?next=/status/")

    @override_settings(TIMMY_STATUS_PUBLIC=True)
    def test_public_setting_opens_page_and_api_without_login(self):
        self.assertEqual(self.client.get("/status/").status_code, 200)
        self.assertEqual(self.client.get("/api/status").status_code, 200)
        self.assertEqual(self.client.get("/api/status/disk/history").status_code, 200)

    def test_page_with_no_data_yet_renders(self):
        self.login()
        response = self.client.get("/status/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        for name in service_names():
            self.assertIn(f'<tr data-service="{name}">', html)
            self.assertIn(f'<svg class="chart" data-service="{name}"', html)
        self.assertIn("Heartbeat: last beat never yet", html)
        self.assertEqual(html.count("no data yet"), len(service_names()))
        self.assertIn("No agents yet", html)
        self.assertIn("No open incidents.", html)
        self.assertIn("Gitea not configured", html)
        self.assertNotIn('<path class="latency"', html)
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_page_shows_states_latency_uptime_and_draws_charts(self):
        self.scripted_beat([result("ollama", UP, "v0.5.7", 12.0), result("disk", UP, "disk 20% full", 1.0)])
        self.scripted_beat([result("ollama", UP, "v0.5.7", 14.0), result("disk", UP, "disk 20% full", 1.0)])
        self.add_samples("ollama", [UP, UP, DOWN, UP, UP, DEGRADED, UP, UP], step=240)
        self.login()
        html = self.client.get("/status/").content.decode()
        row = re.search(r'<tr data-service="ollama">(.*?)</tr>', html, re.S).group(1)
        self.assertIn('<span class="badge state-up">up</span>', row)
        self.assertIn("14 ms", row)
        expected = f"{history.uptime('ollama', 86400, time.time()) * 100:.1f}%"
        self.assertEqual(expected, "90.0%")  # 9 good of 10: 8 stored + 2 beats, one down
        self.assertIn(expected, row)
        panel = re.search(r'<figure class="panel" data-service="ollama">(.*?)</figure>', html, re.S).group(1)
        path = re.search(r'<path class="latency" d="([^"]+)"', panel).group(1)
        # the down sample breaks the line in two; the gaps of a 4-minute beat are bridged
        self.assertEqual(path.count("M"), 2, path)
        self.assertGreaterEqual(path.count("L"), 3, path)
        self.assertIn('class="run state-down"', panel)
        self.assertIn('class="run state-degraded"', panel)
        self.assertIn('class="run state-up"', panel)
        self.assertIn("uptime 90.0% (24 h)", panel)
        self.assertIn("Heartbeat: last beat 0s ago", html)

    def test_incidents_show_level_and_cleaned_escaped_text(self):
        incident, _ = core.trigger("test:relay", "P1", "relay hums oddly", "tester", now=self.now - 300)
        raw = Incident.objects.create(
            fingerprint="raw", severity="P0", level=2, owner="Ezra", opened_at=self.now - 60,
            summary='<script>alert("x")</script> |rred|n |lclook|ltclick here|le',
        )
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn(f'<tr data-incident="{incident.id}">', html)
        row = re.search(rf'<tr data-incident="{raw.id}">(.*?)</tr>', html, re.S).group(1)
        self.assertIn("P0", row)
        self.assertIn("L2", row)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; red click here", row)
        self.assertNotIn("<script>alert", html)
        self.assertNotIn("|r", row)
        self.assertNotIn("|lc", row)
        self.assertIn("2 open incidents", html)

    def test_probe_reason_is_cleaned_and_escaped(self):
        self.scripted_beat([result("ollama", DOWN, "<b>boom</b> |r503|n\nfake line", 3.0)])
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn("&lt;b&gt;boom&lt;/b&gt; 503 fake line", html)

    def test_agents_show_online_state_mode_and_goal(self):
        from evennia.utils import create

        timmy = create.create_object("typeclasses.agents.AgentCharacter", key="Timmy", location=self.room1)
        timmy.mode, timmy.current_goal, timmy.last_seen = "llm", "watch |rollama|n <b>", self.now - 120
        create.create_object("typeclasses.agents.AgentCharacter", key="Ezra", location=self.room1)
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertNotIn("No agents yet", html)
        ezra = re.search(r'<tr data-agent="Ezra">(.*?)</tr>', html, re.S).group(1)
        row = re.search(r'<tr data-agent="Timmy">(.*?)</tr>', html, re.S).group(1)
        self.assertLess(html.index('data-agent="Ezra"'), html.index('data-agent="Timmy"'))
        self.assertIn('<span class="badge state-offline">offline</span>', row)
        self.assertIn("2m ago", row)
        self.assertIn("watch ollama &lt;b&gt;", row)
        self.assertIn("never", ezra)
        _, body = self.get_json("/api/status")
        self.assertEqual([(a["name"], a["online"], a["mode"]) for a in body["agents"]],
                         [("Ezra", False, "starting"), ("Timmy", False, "llm")])

    def test_partial_is_the_live_fragment_only(self):
        self.login()
        response = self.client.get("/status/?partial=1")
        html = response.content.decode()
        self.assertEqual(response.status_code, 200)
        self.assertIn('id="services-table"', html)
        self.assertNotIn("<html", html)
        self.assertNotIn("<script", html)

    def test_page_refreshes_itself_and_loads_nothing_from_elsewhere(self):
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn('<script src="/static/status/status.js"></script>', html)
        self.assertIn('data-refresh-url="/status/?partial=1" data-refresh-seconds="30"', html)
        self.assertIn('<noscript><meta http-equiv="refresh" content="30"></noscript>', html)
        self.assertEqual(EXTERNAL_RESOURCE.findall(html), [])
        self.assertEqual(re.findall(r'(?:src|href)="(?:https?:)?//', html), [])
        for path in ("status/status.js", "status/status.css", "status/vendor/jquery-3.6.1.min.js"):
            self.assertTrue(finders.find(path), path)

    def test_backup_and_silence_lines(self):
        self.scripted_beat([result("backup", DEGRADED, "last backup 30h ago", 2.0)])
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn('<span class="badge state-degraded">degraded</span> last backup 30h ago', html)

    def test_post_is_refused(self):
        self.login()
        self.assertEqual(self.client.post("/status/").status_code, 405)


class StatusApiTests(StatusWebMixin, EvenniaTest):
    def test_routes_are_ours_before_evennias_rest_api(self):
        self.assertIs(resolve("/api/status").func, views.api_status)
        self.assertIs(resolve("/api/status/").func, views.api_status)
        self.assertIs(resolve("/api/status/ollama/history").func.__wrapped__,
                      views.api_service_history.__wrapped__)

    def test_no_credentials_is_401(self):
        response, body = self.get_json("/api/status")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(body["error"], "authentication required")
        self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="timmy-status"')
        self.assertNotIn("services", body)

    @override_settings(TIMMY_STATUS_TOKEN=TOKEN)
    def test_wrong_token_is_401(self):
        for header in ("Bearer wrong", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ",
                       "Bearer \u00e9t\u00e9"):
            response, body = self.get_json("/api/status", HTTP_AUTHORIZATION=header)
            self.assertEqual(response.status_code, 401, header)
            self.assertNotIn("services", body)

    @override_settings(TIMMY_STATUS_TOKEN=TOKEN)
    def test_right_token_reads_and_is_compared_in_constant_time(self):
        with patch("web.status.access.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
            response, body = self.get_json("/api/status", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        self.assertEqual(response.status_code, 200)
        compare.assert_called_once()
        self.assertEqual([s["name"] for s in body["services"]], service_names())
        response, body = self.get_json("/api/status/disk/history?hours=2", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(body["hours"], 2)

    @override_settings(TIMMY_STATUS_TOKEN="")
    def test_token_access_is_off_when_no_token_is_configured(self):
        for header in ("Bearer ", "Bearer x", "Bearer None"):
            response, _ = self.get_json("/api/status", HTTP_AUTHORIZATION=header)
            self.assertEqual(response.status_code, 401, header)

    def test_logged_in_session_reads(self):
        self.login()
        response, body = self.get_json("/api/status")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(body["server"], "Timmy World")

    def test_status_content_matches_the_world(self):
        from world.heartbeat.transitions import service_transition
        from world.incidents import sources

        sources.connect()  # as at every server start: the disk going down opens an incident
        self.addCleanup(service_transition.disconnect, dispatch_uid="incidents.heartbeat")
        self.scripted_beat([result("ollama", UP, "v0.5.7", 12.0), result("disk", DOWN, "disk 97% full", 2.0)])
        self.scripted_beat([result("ollama", UP, "v0.5.7", 12.0), result("disk", DOWN, "disk 97% full", 2.0)])
        incident, _ = core.trigger("test:relay", "P2", "relay |rhums|n", "tester")
        self.login()
        _, body = self.get_json("/api/status")
        by_name = {s["name"]: s for s in body["services"]}
        self.assertEqual(by_name["ollama"]["state"], UP)
        self.assertEqual(by_name["ollama"]["latency_ms"], 12.0)
        self.assertEqual(by_name["ollama"]["uptime_24h"], 1.0)
        self.assertEqual(by_name["disk"]["state"], DOWN)
        self.assertEqual(by_name["disk"]["reason"], "disk 97% full")
        self.assertEqual(by_name["disk"]["uptime_24h"], 0.0)
        self.assertEqual(by_name["gitea"]["state"], UNKNOWN)
        self.assertEqual(by_name["gitea"]["reason"], "not configured")
        self.assertIsNone(by_name["gitea"]["uptime_24h"])
        self.assertLess(body["heartbeat"]["last_beat_age_seconds"], 5)
        self.assertFalse(body["heartbeat"]["stale"])
        self.assertEqual(body["agents"], [])
        by_id = {item["id"]: item for item in body["incidents"]}
        self.assertEqual(len(by_id), 2)
        self.assertEqual({k: by_id[incident.id][k] for k in ("id", "severity", "level", "state", "summary")},
                         {"id": incident.id, "severity": "P2", "level": 1, "state": "open", "summary": "relay hums"})
        disk = [item for item in body["incidents"] if item["id"] != incident.id][0]
        self.assertEqual((disk["severity"], disk["summary"]), ("P1", "disk is down: disk 97% full"))
        self.assertEqual(body["escalation"], {"gitea_configured": False, "repo": None, "pending": 0, "dead": 0})
        self.assertEqual(body["backups"]["state"], UNKNOWN)

    def test_empty_world_answers_with_empty_sections(self):
        self.login()
        _, body = self.get_json("/api/status")
        self.assertIsNone(body["heartbeat"]["last_beat_age_seconds"])
        self.assertTrue(body["heartbeat"]["stale"])
        self.assertEqual(body["incidents"], [])
        self.assertTrue(all(s["state"] == UNKNOWN and s["uptime_24h"] is None for s in body["services"]))

    def test_history_is_downsampled_with_uptime(self):
        self.add_samples("ollama", [UP] * 200 + [DOWN] * 40 + [UP] * 60, step=120)  # 10 h, every 2 min
        self.login()
        response, body = self.get_json("/api/status/ollama/history?hours=24")
        self.assertEqual(response.status_code, 200)
        self.assertEqual((body["service"], body["hours"], body["bucket_seconds"]), ("ollama", 24, 300))
        self.assertEqual(body["samples"], 300)
        self.assertEqual(body["uptime"], round(260 / 300, 4))
        self.assertLessEqual(len(body["buckets"]), 288)
        self.assertEqual(sum(b["samples"] for b in body["buckets"]), 300)
        self.assertIn(DOWN, {b["state"] for b in body["buckets"]})
        self.assertTrue(all(b["start"] < c["start"] for b, c in zip(body["buckets"], body["buckets"][1:])))
        _, short = self.get_json("/api/status/ollama/history?hours=1")
        self.assertEqual(short["bucket_seconds"], 60)
        self.assertEqual(short["samples"], 30)

    def test_history_of_a_service_never_checked_is_empty(self):
        self.login()
        response, body = self.get_json("/api/status/gitea/history")
        self.assertEqual(response.status_code, 200)
        self.assertEqual((body["samples"], body["buckets"], body["uptime"]), (0, [], None))

    def test_unknown_service_is_404_json(self):
        self.login()
        for url in ("/api/status/nosuch/history", "/api/status/%3Cscript%3E/history?hours=2"):
            response, body = self.get_json(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertIn("no service called", body["error"])
            self.assertIn("ollama", body["error"])

    def test_bad_hours_is_400_json(self):
        self.login()
        for hours in ("abc", "0", "-1", "2.5", "100000", "24;drop"):
            response, body = self.get_json(f"/api/status/ollama/history?hours={hours}")
            self.assertEqual(response.status_code, 400, hours)
            self.assertIn("hours must be", body["error"])

    def test_unknown_service_needs_credentials_first(self):
        response, _ = self.get_json("/api/status/nosuch/history")
        self.assertEqual(response.status_code, 401)

    def test_post_is_405_json(self):
        self.login()
        response = self.client.post("/api/status")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(json.loads(response.content)["error"], "method not allowed; use GET")


SECRETS = {
    "SECRET_KEY": "django-secret-key-3c7e91d0aa55f1b2c9d8e7f6",
    "GITEA_TOKEN": "gitea-token-5a4b3c2d1e0f9a8b7c6d",
    "GITEA_URL": "https://forge-user:forge-pass-77@forge.example.test",
    "TIMMY_STATUS_TOKEN": TOKEN,
}


@override_settings(GITEA_REPO="ops/escalations", **SECRETS)
class NoSecretsTests(StatusWebMixin, EvenniaTest):
    def assert_no_secrets(self, text):
        for name, secret in SECRETS.items():
            for piece in (secret, secret[:8], secret[-8:]):
                self.assertNotIn(piece, text, f"part of {name} is shown")
        self.assertNotIn("forge-pass", text)

    def test_page_and_api_show_no_secret_even_partially(self):
        self.login()
        html = self.client.get("/status/").content.decode()
        self.assertIn("Escalation: Gitea ops/escalations; 0 notifications pending", html)
        self.assert_no_secrets(html)
        api = self.client.get("/api/status", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        self.assertIn('"repo": "ops/escalations"', api)
        self.assert_no_secrets(api)
        self.assert_no_secrets(self.client.get("/api/status/gitea/history").content.decode())

    def test_refusals_do_not_echo_the_token(self):
        body = self.client.get("/api/status", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-2]}").content.decode()
        self.assert_no_secrets(body)


class FrontPageAndWebclientTests(EvenniaTest):
    def test_front_page_links_the_status_page(self):
        html = self.client.get("/").content.decode()
        self.assertIn('id="fleet-status-link" href="/status/"', html)
        self.assertIn('<a class="nav-link" href="/status/">Status</a>', html)
        self.assertIn("Recently Connected", html)  # still Evennia's front page underneath

    def test_webclient_is_served_without_any_cdn(self):
        self.client.force_login(self.account)
        response = self.client.get("/webclient/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn('<script src="/static/status/vendor/jquery-3.6.1.min.js"></script>', html)
        self.assertIn("webclient/js/evennia.js", html)
        self.assertIn('id="inputfield"', html)
        self.assertEqual(EXTERNAL_RESOURCE.findall(html), [])

    def test_website_pages_load_nothing_from_elsewhere(self):
        for url in ("/", "/auth/login/"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 200, url)
            html = response.content.decode()
            self.assertIn('href="/static/status/vendor/bootstrap-4.6.1.min.css"', html)
            self.assertIn('src="/static/status/vendor/bootstrap-4.6.1.bundle.min.js"', html)
            self.assertEqual(EXTERNAL_RESOURCE.findall(html), [], url)


class BrowserRequirementTests(TestCase):
    """Without Chromium the browser tests fail loudly in CI and skip elsewhere."""

    def test_missing_chromium_fails_in_ci(self):
        with patch.object(browser, "CHROMIUM", "/nonexistent/chromium"), patch.dict(os.environ, {"CI": "true"}):
            with self.assertRaisesRegex(RuntimeError, "/nonexistent/chromium not installed"):
                browser.require_browser()

    def test_missing_chromium_skips_outside_ci(self):
        with patch.object(browser, "CHROMIUM", "/nonexistent/chromium"), patch.dict(os.environ, {"CI": ""}):
            with self.assertRaises(unittest.SkipTest):
                browser.require_browser()
