"""A small W3C WebDriver client over Python's standard library, for Debian's chromium.

Drives /usr/bin/chromedriver (package chromium-driver) over plain HTTP + JSON: no PyPI, no npm,
no browser download. Used by tests/e2e/test_html_report.py and bench/html_first_paint.py.

    with Browser() as b:
        b.get("file:///tmp/report.html")
        b.execute("return document.title")
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("PVMATRIX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PVMATRIX_CHROMEDRIVER", "/usr/bin/chromedriver")

# The flags the project's browser tests run with (issue 5): headless, no network services.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio",
                  # A file:// page must not reach any host: resolve nothing, proxy to a dead port.
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                  "--window-size=1400,1000"]

# Recorded before any page script runs: every dialog a page tries to open.
DIALOG_RECORDER = """
(function () {
  window.__pvm_dialogs = [];
  ['alert', 'confirm', 'prompt', 'print'].forEach(function (name) {
    window[name] = function (msg) { window.__pvm_dialogs.push(name + ':' + String(msg)); return null; };
  });
})();
"""


class WebDriverError(Exception):
    def __init__(self, error, message, status):
        super().__init__(f"{error}: {message} (HTTP {status})")
        self.error = error


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available():
    """True when chromium and chromedriver are installed (scripts/setup.sh installs both)."""
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


class Browser:
    """One chromedriver process and one headless Chromium session with a fresh profile."""

    def __init__(self, width=1400, height=1000, record_dialogs=True, timeout_s=30):
        self.profile = tempfile.mkdtemp(prefix="pvm-chromium-")
        self.port = _free_port()
        self.log_path = os.path.join(self.profile, "chromedriver.log")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", f"--log-path={self.log_path}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s
        self.session = None
        try:
            self._wait_ready()
            args = [f for f in CHROMIUM_FLAGS if not f.startswith("--window-size")]
            args += [f"--window-size={width},{height}", f"--user-data-dir={os.path.join(self.profile, 'ud')}"]
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                # A page that opens a dialog must be seen, not have it silently dismissed.
                "unhandledPromptBehavior": "ignore",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
            value = self._call("POST", "/session", caps)
            self.session = value["sessionId"]
            if record_dialogs:
                self.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_RECORDER})
        except Exception:
            self.quit()
            raise

    # -- plumbing --
    def _wait_ready(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/status", timeout=2) as r:
                    if json.load(r).get("value", {}).get("ready"):
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chromedriver did not start on port {self.port}")

    def _call(self, method, path, body=None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e).get("value", {})
            except ValueError:
                v = {}
            raise WebDriverError(v.get("error", "unknown"), v.get("message", str(e)), e.code) from None

    def _s(self, path):
        return f"/session/{self.session}{path}"

    # -- the commands the tests use --
    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    def execute(self, script, *args):
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def execute_async(self, script, *args):
        return self._call("POST", self._s("/execute/async"), {"script": script, "args": list(args)})

    def cdp(self, cmd, params=None):
        """Chrome DevTools protocol command through chromedriver's pass-through."""
        return self._call("POST", self._s("/goog/cdp/execute"), {"cmd": cmd, "params": params or {}})

    def find(self, css):
        v = self._call("POST", self._s("/element"), {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def find_all(self, css):
        return [next(iter(v.values())) for v in
                self._call("POST", self._s("/elements"), {"using": "css selector", "value": css})]

    def click(self, css):
        self._call("POST", self._s(f"/element/{self.find(css)}/click"))

    def text(self, css):
        return self._call("GET", self._s(f"/element/{self.find(css)}/text"))

    def type(self, css, keys):
        self._call("POST", self._s(f"/element/{self.find(css)}/value"), {"text": keys})

    def alert_text(self):
        """The text of an open dialog, or None when there is none."""
        try:
            return self._call("GET", self._s("/alert/text"))
        except WebDriverError as e:
            if e.error == "no such alert":
                return None
            raise

    def browser_log(self):
        """Console messages and page errors since the last call ([{level, message}])."""
        return self._call("POST", self._s("/se/log"), {"type": "browser"}) or []

    def screenshot(self, path):
        png = base64.b64decode(self._call("GET", self._s("/screenshot")))
        with open(path, "wb") as f:
            f.write(png)
        return path

    def wait_for(self, script, timeout_s=10, *args):
        deadline = time.monotonic() + timeout_s
        while True:
            v = self.execute(script, *args)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for: {script}")
            time.sleep(0.05)

    def quit(self):
        try:
            if self.session:
                self._call("DELETE", f"/session/{self.session}")
        except Exception:
            pass
        self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()
