"""The whole dashboard in headless Chromium: every page, an upload, the example, the microphone.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and the Playwright package;
never ``playwright install``. The live microphone through a TURN relay also needs Debian's
``coturn`` (``apt-get install -y coturn``); each is a skip where missing, a failure in CI.
Screenshots go to ``screenshots/`` (gitignored).
"""

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

from app_support import REPO
from conftest import speechlike
from ser_core.data.labels import EMOTIONS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("SER_CHROMIUM", "/usr/bin/chromium")
TURNSERVER = os.environ.get("SER_TURNSERVER", "/usr/bin/turnserver")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "screenshots"
PAGES = [("", "Speech emotion recognition studio"), ("Dataset_explorer", "Dataset explorer"),
         ("Feature_inspector", "Feature inspector"), ("Model_comparison", "Model comparison"),
         ("Training", "Training"), ("Predict", "Predict")]
# The frontend probes <page>/_stcore/... to find the server's base path before falling
# back to the root: those two 404s are Streamlit's, not ours. Chromium also aborts and
# re-requests <audio> media with a Range header (ERR_ABORTED).
BENIGN = re.compile(r"404 \S+/\w+/_stcore/(health|host-config)$"
                    r"|failed \S+/media/\w+\.\w+ net::ERR_ABORTED$")


def _program(path: str, package: str) -> str:
    """``path`` if it is installed; else skip the test (fail it under CI, which must install ``package``)."""
    if shutil.which(path):
        return path
    message = f"{path} is missing (apt-get install -y {package})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _chromium() -> str:
    return _program(CHROMIUM, "chromium")


def _turnserver() -> str:
    return _program(TURNSERVER, "coturn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(tmp_path_factory, *, env: dict, args=()):
    """``streamlit run app.py`` on a free port with ``env``; yields its URL, checks its log for tracebacks."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false", *args],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _app_env(app_corpus, app_models, tmp_path_factory, **extra) -> dict:
    """The server's environment: the tiny corpus and model, private runs and cache, no ICE settings of ours."""
    from ui.webrtc import SETTINGS

    env = {k: v for k, v in os.environ.items() if k not in {*SETTINGS.values(), "SER_MODE"}}
    return dict(env, SER_DATA_DIR=str(app_corpus), SER_ARTIFACTS_DIR=str(app_models),
                SER_RUNS_DIR=str(tmp_path_factory.mktemp("runs")),
                SER_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "ser-cache"), **extra)


@pytest.fixture(scope="module")
def server(app_corpus, app_models, tmp_path_factory):
    """The app pointed at the tiny corpus and model, bound to loopback: a local deploy."""
    _chromium()
    with streamlit_app(tmp_path_factory, env=_app_env(app_corpus, app_models, tmp_path_factory),
                       args=["--server.address", "127.0.0.1"]) as url:
        yield url


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class Page:
    """A browser tab on the app that records console errors and failed requests."""

    def __init__(self, browser, *, permissions=(), viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000},
                                      permissions=list(permissions))
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.text}")
                     if m.type == "error" and "Failed to load resource" not in m.text else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed {r.url} {r.failure}"))
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}")
                     if r.status >= 400 else None)

    def open(self, url: str, *, title: str) -> None:
        self.page.goto(url)
        self.page.locator("h1", has_text=title).first.wait_for(timeout=90_000)
        self.settle()

    def settle(self, *, timeout_s: float = 120) -> None:
        """Wait until the script run ends (Streamlit's 'running' widget is gone for a while)."""
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            running = self.page.locator('[data-testid="stStatusWidget"]').count() > 0
            if running:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 1.5:
                return
            self.page.wait_for_timeout(200)
        raise AssertionError("the page kept running")

    def assert_no_exception(self) -> None:
        """No exception box and no traceback on the page (requests are not judged here)."""
        assert self.page.locator('[data-testid="stException"]').count() == 0
        assert "Traceback" not in self.page.content()

    def assert_clean(self) -> None:
        assert self.page.locator('[data-testid="stException"]').count() == 0
        assert "Traceback" not in self.page.content()
        assert [p for p in self.problems if not BENIGN.match(p)] == []

    def shot(self, name: str) -> Path:
        """Save the whole page: Streamlit scrolls inside its main block, so grow the window first."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        height = self.page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main')]"
            ".map(e => e.scrollHeight), 1000)")
        viewport = self.page.viewport_size
        self.page.set_viewport_size({"width": viewport["width"], "height": min(int(height) + 40, 8000)})
        self.page.wait_for_timeout(500)  # let plotly re-layout at the new size
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(viewport)
        return path


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.mark.parametrize(("path", "title"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_every_page_renders_without_errors(server, browser, path, title):
    tab = Page(browser)
    tab.open(f"{server}/{path}", title=title)
    tab.shot(f"page-{path or 'home'}")
    tab.assert_clean()


def test_upload_a_clip_and_see_a_prediction(server, browser, tmp_path):
    clip = tmp_path / "upload.wav"
    sf.write(clip, speechlike(duration_s=8.0), 16000)
    tab = Page(browser)
    tab.open(f"{server}/Predict", title="Predict")
    tab.page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    tab.page.locator(".ser-chip").first.wait_for(timeout=90_000)
    tab.page.get_by_text("Emotion over time").first.wait_for(timeout=90_000)
    tab.settle()
    assert tab.page.locator(".ser-chip").first.inner_text() in EMOTIONS
    assert tab.page.get_by_text(re.compile(r"Heard in \d+% of the \d+ voiced 3-s windows")).count() == 1
    tab.shot("predict-upload")
    tab.assert_clean()


def test_bad_upload_shows_an_error_not_a_traceback(server, browser, tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio\n" * 50)
    tab = Page(browser)
    tab.open(f"{server}/Predict", title="Predict")
    tab.page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bogus))
    alert = tab.page.locator('[data-testid="stAlertContentError"]').first
    alert.wait_for(timeout=60_000)
    assert "Could not classify notes.wav" in alert.inner_text()
    tab.shot("predict-bad-upload")
    tab.assert_clean()


def test_example_button_leads_to_a_prediction_with_the_true_label(server, browser):
    tab = Page(browser)
    tab.open(server, title="Speech emotion recognition studio")
    tab.page.get_by_role("button", name=re.compile("Classify an example clip")).click()
    tab.page.locator("h1", has_text="Predict").first.wait_for(timeout=60_000)
    tab.page.locator(".ser-chip").first.wait_for(timeout=90_000)
    tab.settle()
    check = tab.page.get_by_text(re.compile(r"^[✓✗] (Right|Wrong): the speaker acted")).first
    check.wait_for(timeout=30_000)
    heard = tab.page.locator(".ser-chip").first.inner_text().split("·")[0].strip()
    assert ("✓" in check.inner_text()) == (f"acted {heard}." in check.inner_text())
    tab.shot("predict-example")
    tab.assert_clean()


# ---------------------------------------------------------------- issue 22: who, how sure, every eye, every phone
DESKTOP, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_the_plain_summary_is_above_the_fold(server, browser, viewport):
    tab = Page(browser, viewport=viewport)
    tab.open(server, title="Speech emotion recognition studio")
    summary = tab.page.locator(".st-key-summary").first
    box = summary.bounding_box()
    lead = summary.locator("strong").first.bounding_box()
    assert box is not None and lead is not None
    assert box["y"] < viewport["height"] and lead["y"] + lead["height"] <= viewport["height"], (box, lead)
    text = summary.inner_text()
    assert "speakers it never heard" in text and "chance" in text and "NOT been tested on other corpora" in text
    assert "about 70%" not in tab.page.content()
    tab.assert_no_exception()


_CONTRAST_OF = """
el => { const s = getComputedStyle(el); return [s.color, s.backgroundColor, s.fill]; }
"""


def _hex(css: str) -> str:
    values = [int(v) for v in re.findall(r"\d+", css)[:3]]
    return "#" + "".join(f"{v:02x}" for v in values)


def test_chips_and_chart_text_read_at_4_5_to_1_and_players_and_charts_are_named(server, browser):
    from ser_core.reporting.colours import contrast_ratio

    tab = Page(browser)
    tab.open(f"{server}/Predict", title="Predict")
    tab.page.get_by_text("Example", exact=True).first.click()
    tab.page.locator(".ser-chip").first.wait_for(timeout=90_000)
    tab.settle()
    color, background, _ = tab.page.locator(".ser-chip").first.evaluate(_CONTRAST_OF)
    assert contrast_ratio(_hex(color), _hex(background)) >= 4.5, (color, background)
    tab.page.locator(".js-plotly-plot .xtick text").first.wait_for(timeout=30_000)
    for selector in (".xtick text", ".ytick text", ".g-xtitle text", ".gtitle"):
        fill = tab.page.locator(f".js-plotly-plot {selector}").first.evaluate(_CONTRAST_OF)[2]
        assert contrast_ratio(_hex(fill), "#ffffff") >= 4.5, (selector, fill)
    charts = tab.page.locator("[data-testid=stPlotlyChart]").count()
    assert tab.page.get_by_text(re.compile("^Chart in words: ")).count() >= charts > 0
    assert tab.page.get_by_text(re.compile("Listen: ")).count() >= tab.page.locator("audio").count() > 0
    tab.assert_no_exception()


def test_on_a_phone_the_verdict_comes_before_the_player(server, browser):
    tab = Page(browser, viewport=PHONE)
    tab.open(f"{server}/Predict", title="Predict")
    tab.page.get_by_text("Example", exact=True).first.click()
    tab.page.locator(".ser-chip").first.wait_for(timeout=90_000)
    tab.settle()
    chip = tab.page.locator(".ser-chip").first.bounding_box()
    player = tab.page.locator("[data-testid=stAudio]").first.bounding_box()
    assert chip["y"] < player["y"], (chip, player)
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    tab.shot("predict-phone")
    tab.assert_no_exception()


def test_the_report_fits_a_phone(browser, app_models, tmp_path):
    from ser_core.reporting.report import build_report

    report = tmp_path / "report.html"
    report.write_text(build_report(root=app_models))
    page = browser.new_page(viewport=PHONE)
    page.goto(report.as_uri())
    page.wait_for_timeout(1500)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    summary = page.locator("#summary").bounding_box()
    assert summary is not None and summary["y"] < PHONE["height"]
    page.close()


def _start_live_stream(tab: Page, server_url: str):
    """Open the Predict page's live tab, start the stream; return the component's frame locator."""
    tab.open(f"{server_url}/Predict", title="Predict")
    tab.page.get_by_role("tab", name=re.compile("Live")).click()
    tab.page.get_by_text("Open the microphone stream").click()
    frame = tab.page.frame_locator("iframe[title*='webrtc']").first
    frame.get_by_role("button", name=re.compile("START", re.I)).click()
    return frame


def _heard_s(tab: Page) -> int:
    return int(re.sub(r"\D", "", tab.page.locator('[data-testid="stMetricValue"]').first.inner_text()) or 0)


def _browser_with_a_fake_microphone(playwright, tmp_path):
    """Chromium whose microphone plays 6 s of speech-like sound, permission granted."""
    voice = tmp_path / "voice.wav"
    sf.write(voice, speechlike(duration_s=6.0, sample_rate=48000), 48000, subtype="PCM_16")
    return playwright.chromium.launch(
        executable_path=_chromium(),
        args=CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-audio-capture={voice}"])


def test_live_microphone_with_a_fake_device(server, playwright, tmp_path):
    browser = _browser_with_a_fake_microphone(playwright, tmp_path)
    try:
        tab = Page(browser, permissions=["microphone"])
        frame = _start_live_stream(tab, server)
        # the fragment redraws the timeline once predictions arrive
        tab.page.get_by_text(re.compile(r"Live emotion")).first.wait_for(timeout=90_000)
        deadline = time.monotonic() + 30
        while _heard_s(tab) < 3 and time.monotonic() < deadline:
            tab.page.wait_for_timeout(500)
        assert _heard_s(tab) >= 3
        tab.shot("predict-live")
        frame.get_by_role("button", name=re.compile("STOP", re.I)).click()
        tab.assert_clean()
    finally:
        browser.close()


# ---------------------------------------------------------------- the live microphone through a TURN relay
TURN_USER, TURN_PASSWORD, TURN_REALM = "test", "secret", "ser.test"
# Keep every RTCPeerConnection a frame makes, to read which candidate pair carries the media.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Original = window.RTCPeerConnection;
  if (!Original || Original.__recorded) return;
  window.__peerConnections = [];
  const Recorded = function (...args) {
    const pc = new Original(...args);
    window.__peerConnections.push(pc);
    return pc;
  };
  Recorded.prototype = Original.prototype;
  Object.setPrototypeOf(Recorded, Original);
  Recorded.__recorded = true;
  window.RTCPeerConnection = Recorded;
})();
"""
SELECTED_PAIR = """
async () => {
  const pc = window.__peerConnections[window.__peerConnections.length - 1];
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach(s => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) return {policy: pc.getConfiguration().iceTransportPolicy};
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {policy: pc.getConfiguration().iceTransportPolicy, state: pair.state, bytesSent: pair.bytesSent,
          local: {type: local.candidateType, address: local.address, relayProtocol: local.relayProtocol,
                  url: local.url},
          remote: {type: remote.candidateType, address: remote.address}};
}
"""


def _relayed_bytes(log: Path) -> int:
    """Bytes coturn sent to peers for the test user, over the allocations closed so far."""
    return sum(int(sent) for sent in re.findall(
        rf"peer usage: realm=<{re.escape(TURN_REALM)}>, username=<{TURN_USER}>, rp=\d+, rb=\d+, sp=\d+, sb=(\d+)",
        log.read_text()))


def _stun_answers(port: int, *, timeout_s: float = 0.5) -> bool:
    """True when a STUN Binding request to 127.0.0.1:port (UDP) gets its success response."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        s.sendto(request, ("127.0.0.1", port))
        try:
            answer = s.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == request[8:20]


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory):
    """Debian's coturn on a free 127.0.0.1 port with one long-term user; yields (port, log path)."""
    binary = _turnserver()
    folder = tmp_path_factory.mktemp("coturn")
    port = _free_port()
    log = folder / "turnserver.log"  # coturn flushes its own file line by line (not its stdout)
    with open(folder / "turnserver.out", "w") as out:
        process = subprocess.Popen(
            [binary, "-n",  # no configuration file: /etc/turnserver.conf must not change the test
             "--verbose",  # log each allocation and its usage, which the test reads
             "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
             "--lt-cred-mech", "--user", f"{TURN_USER}:{TURN_PASSWORD}", "--realm", TURN_REALM, "--fingerprint",
             "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
             "--userdb", str(folder / "turndb"), "--pidfile", str(folder / "turnserver.pid"),
             "--log-file", str(log), "--simple-log", "--no-stdout-log"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not _stun_answers(port):
            if time.monotonic() > deadline or process.poll() is not None:
                said = "".join(p.read_text() for p in (folder / "turnserver.out", log) if p.exists())
                pytest.fail(f"turnserver did not start:\n{said[-3000:]}")
            time.sleep(0.1)
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def relay_server(app_corpus, app_models, tmp_path_factory, turn_server):
    """The app as a public deploy whose only way in is the local TURN relay (relay-only ICE)."""
    _chromium()
    port, _ = turn_server
    secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    secrets.write_text("")  # the developer's own secrets must not add ICE servers
    env = _app_env(app_corpus, app_models, tmp_path_factory, SER_MODE="public",
                   SER_TURN_URLS=f"turn:127.0.0.1:{port}?transport=udp",
                   SER_TURN_USERNAME=TURN_USER, SER_TURN_CREDENTIAL=TURN_PASSWORD,
                   SER_WEBRTC_ICE_TRANSPORT_POLICY="relay")
    with streamlit_app(tmp_path_factory, env=env, args=["--secrets.files", str(secrets)]) as url:
        yield url


def test_live_microphone_through_a_relay_only_turn_server(relay_server, turn_server, playwright, tmp_path):
    """A hosted deploy's path: relay-only ICE through coturn fills the live timeline.

    Three witnesses that the media went through the relay, not around it: the browser's
    configuration says ``relay``, its selected candidate pair has a relayed local end, and
    coturn reports the bytes it forwarded to the server.
    """
    browser = _browser_with_a_fake_microphone(playwright, tmp_path)
    try:
        tab = Page(browser, permissions=["microphone"])
        tab.page.add_init_script(RECORD_PEER_CONNECTIONS)
        frame = _start_live_stream(tab, relay_server)
        tab.page.get_by_text(re.compile(r"Live emotion")).first.wait_for(timeout=90_000)
        first = _heard_s(tab)
        deadline = time.monotonic() + 30
        while _heard_s(tab) < first + 3 and time.monotonic() < deadline:
            tab.page.wait_for_timeout(500)
        assert _heard_s(tab) >= first + 3, "the heard seconds stopped growing"
        assert tab.page.locator("[data-testid=stPlotlyChart]").count() >= 1, "no emotion row on the timeline"

        component = tab.page.locator("iframe[title*='webrtc']").first.element_handle().content_frame()
        used = component.evaluate(SELECTED_PAIR)
        assert used["policy"] == "relay", used
        assert used.get("local", {}).get("type") == "relay", used
        assert used["local"]["address"] == "127.0.0.1" and used["bytesSent"] > 0, used
        tab.shot("predict-live-relay")
        frame.get_by_role("button", name=re.compile("STOP", re.I)).click()
        # coturn logs what an allocation relayed to its peers when the browser releases it (on STOP)
        _, log = turn_server
        deadline = time.monotonic() + 30
        while _relayed_bytes(log) < 10_000 and time.monotonic() < deadline:
            tab.page.wait_for_timeout(500)
        assert _relayed_bytes(log) >= 10_000, log.read_text()[-3000:]
        tab.assert_clean()
    finally:
        browser.close()


# ---------------------------------------------------------------- presentation: projector and phone, public mode
VIEWPORTS = {"projector": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
HORIZONTAL_OVERFLOW = """
() => {
  const main = document.querySelector('[data-testid=stMain]') || document.body;
  const wide = [...main.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > window.innerWidth + 2 && getComputedStyle(e).position !== 'fixed'
      && !e.closest('[data-testid=stDataFrame], .js-plotly-plot, [data-testid=stSidebar], [role=tablist]');
  });
  return {scroll: main.scrollWidth - main.clientWidth, wide: wide.slice(0, 5).map(e => e.tagName + '.' + e.className)};
}
"""


@pytest.fixture(scope="module")
def public_server(app_corpus, app_models, tmp_path_factory):
    """The app as a hosted deploy with no settings but the operator's corpus: public mode."""
    _chromium()
    env = _app_env(app_corpus, app_models, tmp_path_factory, SER_SCRATCH_DIR=str(tmp_path_factory.mktemp("scratch")))
    with streamlit_app(tmp_path_factory, env=env) as url:
        yield url


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize(("path", "title"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_every_page_fits_a_projector_and_a_phone(public_server, browser, path, title, viewport):
    tab = Page(browser, viewport=VIEWPORTS[viewport])
    tab.open(f"{public_server}/{path}", title=title)
    overflow = tab.page.evaluate(HORIZONTAL_OVERFLOW)
    tab.shot(f"{viewport}-{path or 'home'}")
    assert overflow["scroll"] <= 2 and overflow["wide"] == [], overflow
    tab.assert_clean()


@pytest.mark.parametrize(("path", "title"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_public_mode_shows_no_server_path_and_takes_none(public_server, browser, app_corpus, app_models, path, title):
    tab = Page(browser)
    tab.open(f"{public_server}/{path}", title=title)
    text = tab.page.locator("body").inner_text()
    for secret in (str(app_corpus), str(app_models), str(REPO), "/tmp/", "/root"):
        assert secret not in text, f"{secret} shown on {path or 'home'}"
    labels = [tab.page.locator("input[type=text]").nth(i).get_attribute("aria-label") or ""
              for i in range(tab.page.locator("input[type=text]").count())]
    assert not any(re.search(r"folder|path|download to", label, re.I) for label in labels), labels
    assert "Public demo" in text
    tab.assert_clean()


def test_the_report_opens_offline_with_every_chart_drawn(browser, app_models, tmp_path):
    from ser_core.reporting.report import build_report, html_to_pdf

    report = tmp_path / "report.html"
    report.write_text(build_report(root=app_models))
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: problems.append(f"network {r.url}") if not r.url.startswith(("file:", "data:")) else None)
    page.goto(report.as_uri())
    page.wait_for_timeout(1500)
    charts = page.locator(".plotly-graph-div")
    assert charts.count() >= 2
    assert all(charts.nth(i).locator(".main-svg").count() > 0 for i in range(charts.count()))
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
    assert problems == []
    pdf = html_to_pdf(report, tmp_path / "report.pdf", chromium=_chromium())
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 10_000


@pytest.fixture(scope="module")
def shipped_server(app_corpus, tmp_path_factory):
    """The app serving the shipped models (artifacts/), as the hosted demo does."""
    _chromium()
    env = _app_env(app_corpus, REPO / "artifacts", tmp_path_factory)
    with streamlit_app(tmp_path_factory, env=env, args=["--server.address", "127.0.0.1"]) as url:
        yield url


def _classify_on_predict(tab: Page, server_url: str, clip: Path, *, model: str | None = None,
                         describes: str) -> str:
    """Open Predict (picking ``model``), check its caption shows ``describes``, upload ``clip``; return the emotion."""
    tab.open(f"{server_url}/Predict", title="Predict")
    if model is not None:
        tab.page.locator('[data-testid="stSelectbox"]').first.click()
        tab.page.get_by_role("option", name=re.compile(rf"^{re.escape(model)}\b")).first.click()
        tab.settle()
    tab.page.get_by_text(describes).first.wait_for(timeout=60_000)
    tab.page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    tab.page.locator(".ser-chip").first.wait_for(timeout=120_000)
    tab.settle()
    return tab.page.locator(".ser-chip").first.inner_text().split("·")[0].strip()


def test_a_study_model_then_the_default_from_two_visitors_on_one_server(shipped_server, browser, ravdess_16k):
    """Issue 20: a Keras study model used before the torch default aborted the server (malloc); both must answer."""
    clip = sorted(ravdess_16k.glob("Actor_01/*.wav"))[0]
    visitor_a, visitor_b = Page(browser), Page(browser)
    assert _classify_on_predict(visitor_a, shipped_server, clip, model="study-cnn-lstm",
                                describes="cnn_lstm on MFCC-16000-40") in EMOTIONS
    assert _classify_on_predict(visitor_b, shipped_server, clip, describes="ensemble of") in EMOTIONS
    assert _classify_on_predict(visitor_a, shipped_server, clip, model="study-lstm",
                                describes="lstm on MFCC-16000-40") in EMOTIONS
    with urllib.request.urlopen(f"{shipped_server}/_stcore/health", timeout=5) as answer:
        assert answer.status == 200
    visitor_b.shot("predict-two-visitors-default")
    for tab in (visitor_a, visitor_b):
        tab.assert_clean()
