"""The Dagster UI and the HTML report in a real browser.

`ssj ui` (dagster dev: webserver + daemon) serves a generated sample; headless
Debian chromium, driven by selenium through /usr/bin/chromedriver (nothing is
downloaded), checks that the asset catalog lists the pools and the merge list,
clicks "Materialize all" on `full_job` and waits for the run to succeed; then it
renders `ssj report`'s page. Screenshots go to the test's tmp dir, or to
$SSJ_SCREENSHOTS (the ones in docs/screenshots were taken that way).

Without chromium the tests skip — unless SSJ_REQUIRE_BROWSER=1 (set by .ci/run,
which installs chromium, chromium-driver and fonts-noto-cjk), where they fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.generate import generate
from tests.support import ROOT

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if os.environ.get("SSJ_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"SSJ_REQUIRE_BROWSER=1 but {CHROMIUM} / {CHROMEDRIVER} are missing "
                           "(apt-get install chromium chromium-driver fonts-noto-cjk)")
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import ElementClickInterceptedException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

LOCATION = "shuangsuiji"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    out = Path(os.environ.get("SSJ_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000", "--hide-scrollbars"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`ssj ui` on a free port over a 300-enterprise sample; yields (base URL, warehouse)."""
    root = tmp_path_factory.mktemp("ui")
    generate(300, root / "gen", 5, as_of=date(2026, 11, 26))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    env.update(SSJ_AS_OF="2026-11-26", DAGSTER_HOME=str(root / "dagster_home"))
    cmd = [sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--landing", str(root / "gen" / "landing"),
           "--warehouse", str(root / "warehouse"), "--agencies", str(root / "gen" / "agencies.yaml")]
    log = open(root / "ui.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(base + "/server_info", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the UI did not start:\n" + (root / "ui.log").read_text()[-3000:]) from None
                time.sleep(1)
        yield base, root / "warehouse"
    finally:
        stop_group(proc)
        log.close()
        assert "code location name" not in (root / "ui.log").read_text()  # no naming warning from dg


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the whole process group of `ssj ui` (dagster dev, webserver, daemon, code server),
    wait for every member to leave, SIGKILL what is left: nothing outlives the tests."""
    def alive() -> bool:
        try:
            os.killpg(proc.pid, 0)
            return True
        except ProcessLookupError:
            return False

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        proc.poll()  # reap the direct child so it does not linger as a zombie
        time.sleep(0.5)
    if alive():
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def graphql(base: str, query: str) -> dict:
    req = urllib.request.Request(base + "/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=30).read())["data"]


def button(driver, text: str, timeout: float = 60):
    return WebDriverWait(driver, timeout).until(lambda d: next(
        (b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == text and b.is_displayed()), None))


def dismiss_welcome(driver) -> None:
    """Dagster's first-visit community dialog, when it shows."""
    try:
        button(driver, "Skip", timeout=5).click()
    except Exception:  # noqa: BLE001 - not shown
        pass


def test_asset_catalog_lists_the_pools_and_the_merge_list(ui, browser, shots):
    base, _ = ui
    browser.set_window_size(1600, 5000)  # the catalog renders only the rows in view
    browser.get(base + "/assets")
    dismiss_welcome(browser)
    wanted = ("enterprise_pool", "inspector_pool", "draw_entries", "joint_inspections", "quarantine", "ingest_log")
    WebDriverWait(browser, 90).until(lambda d: all(w in d.find_element(By.TAG_NAME, "body").text for w in wanted))
    browser.set_window_size(1600, 1000)
    time.sleep(1)
    browser.save_screenshot(str(shots / "dagster-assets.png"))


def test_materialize_all_from_the_ui_succeeds(ui, browser, shots):
    base, warehouse = ui
    browser.set_window_size(1600, 1000)
    browser.get(f"{base}/locations/{LOCATION}/jobs/full_job")
    dismiss_welcome(browser)
    try:
        button(browser, "Materialize all").click()
    except ElementClickInterceptedException:  # the first-visit dialog opened after dismiss_welcome looked
        dismiss_welcome(browser)
        button(browser, "Materialize all").click()
    deadline, status = time.monotonic() + 420, None
    while time.monotonic() < deadline:
        runs = graphql(base, "{ runsOrError { ... on Runs { results { runId status jobName } } } }")["runsOrError"]
        statuses = {r["status"] for r in runs["results"] if r["jobName"] == "full_job"}
        if statuses & {"SUCCESS", "FAILURE", "CANCELED"}:
            status = "SUCCESS" if statuses == {"SUCCESS"} else statuses
            break
        time.sleep(3)
    assert status == "SUCCESS", status
    assert (warehouse / "published" / "joint_inspections.parquet").exists()
    browser.get(f"{base}/locations/{LOCATION}/jobs/full_job")
    WebDriverWait(browser, 60).until(lambda d: "Materialize all" in d.find_element(By.TAG_NAME, "body").text)
    time.sleep(3)  # let the graph settle before the picture
    browser.save_screenshot(str(shots / "dagster-full-job.png"))


def test_asset_pages_answer_what_happened_without_sql(ui, browser, shots):
    """The metadata of the run: quarantine by reason, the overlap matrix, on the asset pages."""
    base, warehouse = ui
    if not (warehouse / "published" / "agency_overlap.parquet").exists():
        pytest.skip("needs the materialization above")
    browser.set_window_size(1600, 1400)

    def page_shows(path: str, *texts: str) -> None:
        browser.get(f"{base}/assets/{path}")
        dismiss_welcome(browser)
        WebDriverWait(browser, 90).until(lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts))

    page_shows("published/quarantine", "rows_by_reason", "top_reasons_with_samples")
    pool_rows = pq.read_metadata(warehouse / "published" / "enterprise_pool.parquet").num_rows
    page_shows("published/enterprise_pool", "by_sector", "by_credit_grade", f"{pool_rows:,}")  # its row count
    page_shows("published/agency_overlap", "overlap_matrix")
    time.sleep(2)
    browser.save_screenshot(str(shots / "dagster-overlap-metadata.png"))


def test_report_renders_with_its_charts(ui, browser, shots, tmp_path):
    _, warehouse = ui
    if not (warehouse / "published" / "ingest_log.parquet").exists():
        pytest.skip("needs the materialization above")
    out = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "pipelines.cli", "report", "--warehouse", str(warehouse), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    browser.set_window_size(1000, 4200)
    browser.get(out.as_uri())
    charts = browser.find_elements(By.CSS_SELECTOR, "figure svg")
    # every chart the page holds is drawn (the count follows the report's sections, not a constant)
    assert len(charts) == out.read_text(encoding="utf-8").count("<svg") >= 8
    assert all(c.size["height"] > 0 and c.size["width"] > 0 for c in charts)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "检查对象名录库" in body
    # values, not only labels: an agency's Chinese name from the registry, a row count from the data
    registry = yaml.safe_load((warehouse.parent / "gen" / "agencies.yaml").read_text(encoding="utf-8"))
    named = [a["name"] for a in registry["agencies"] if a["name"] in body]
    assert any("市场监督管理局" in n for n in named), body[:2000]
    review = pq.read_metadata(warehouse / "published" / "match_review.parquet").num_rows
    assert f"(match_review): {review} 行 rows" in body
    browser.save_screenshot(str(shots / "report.png"))
