"""
A real headless Chromium for browser tests, driven with Selenium.

Debian's `chromium` and `chromium-driver` packages (installed by
`bin/ensure-browser`) and the `selenium` package (requirements-browser.txt)
are all it needs; it never downloads a browser. Each `Browser` has its own
fresh profile directory, deleted on `quit()`. Screenshots go to
`tests/artifacts/` (git-ignored).

When something is missing, `require_browser()` fails loudly under CI=true
and skips the tests elsewhere.
"""

import os
import shutil
import tempfile
import time
import unittest

CHROMIUM = os.environ.get("TIMMY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TIMMY_CHROMEDRIVER", "/usr/bin/chromedriver")
GAME_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS_DIR = os.path.join(GAME_DIR, "tests", "artifacts")
# Headless Chromium as root in a container, and nothing that calls home.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)


def in_ci():
    """True when the CI environment variable says so (CI=true, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def browser_problem():
    """Why no browser test can run here, or None when everything is installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} not installed (run bin/ensure-browser as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -r requirements-browser.txt)"
    return None


def require_browser():
    """Fail loudly in CI, skip elsewhere, when the browser cannot run.

    Raises:
        RuntimeError: Under CI=true, naming what is missing.
        unittest.SkipTest: Outside CI.
    """
    problem = browser_problem()
    if problem is None:
        return
    if in_ci():
        raise RuntimeError(f"Browser tests cannot run in CI: {problem}.")
    raise unittest.SkipTest(f"browser tests skipped: {problem}")


class Browser:
    """One headless Chromium with a fresh profile."""

    def __init__(self, page_load_timeout=30):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile_dir = tempfile.mkdtemp(prefix="timmy-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile_dir}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        except Exception:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(page_load_timeout)

    def quit(self):
        """Close the browser and its driver; delete the profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def get(self, url):
        """Open a URL and return the driver."""
        self.driver.get(url)
        return self.driver

    def find(self, css):
        """The first element matching a CSS selector (raises if none)."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        """Every element matching a CSS selector."""
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def run_js(self, script, *args):
        """Run JavaScript in the page and return its value."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, predicate, timeout=20.0, interval=0.2, message="condition"):
        """Poll `predicate()` until it is truthy; return its value.

        Raises:
            AssertionError: It stayed falsy for `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except Exception:  # an element not there yet, a page mid-load
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}; "
                                     f"page {self.driver.current_url!r}")
            time.sleep(interval)

    def login(self, base_url, username, password, next_path=""):
        """Log in through the website's login form; return the page landed on."""
        from selenium.webdriver.common.keys import Keys

        self.get(f"{base_url}/auth/login/" + (f"?next={next_path}" if next_path else ""))
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(password, Keys.ENTER)
        self.wait_for(lambda: "/auth/login" not in self.driver.current_url, message="the login to finish")
        return self.driver.current_url

    def screenshot(self, name):
        """Save a PNG of the page to tests/artifacts/NAME.png; return its path."""
        os.makedirs(ARTIFACTS_DIR, exist_ok=True)
        path = os.path.join(ARTIFACTS_DIR, f"{name}.png")
        self.driver.save_screenshot(path)
        return path

    def console_errors(self):
        """Severe messages from the page's JavaScript console since the last call."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]

    def resources(self):
        """URLs of every resource the page loaded (scripts, styles, images, fetches)."""
        return self.run_js("return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
