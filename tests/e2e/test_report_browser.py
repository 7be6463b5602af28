"""The HTML report in a real headless Chromium, served by the live API: it renders without a console
error (its Content-Security-Policy makes any external load or script one), shows what an auditor
needs, prints to PDF, and leaves a screenshot behind (/tmp/policycortex-report.png)."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.api.test_reports import History, build_history
from tests.api.test_stream import serve

pytestmark = pytest.mark.e2e
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
OUTPUT = {"second": "/tmp/policycortex-report", "cancelled": "/tmp/policycortex-report-cancelled"}  # .png .pdf .html


@pytest.fixture(scope="module")
def history(app, svc, worker, moto_server) -> History:
    return build_history(app, svc, moto_server)


@pytest.fixture(scope="module")
def api_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs the Debian packages chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    driver.quit()


def severe(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_console_errors_are_seen(browser):
    """The check below means something: a page that logs an error is caught."""
    browser.get("data:text/html,<p>x</p><script>console.error('boom')</script>")
    assert any("boom" in entry["message"] for entry in severe(browser))


@pytest.mark.parametrize("which", ["second", "cancelled"])
def test_html_report_renders_cleanly_in_chromium(browser, api_url, history, tmp_path, which):
    from selenium.webdriver.common.by import By

    scan = getattr(history, which)
    browser.get_log("browser")  # start from an empty console
    browser.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {history.tenant.key}"}}
    )
    browser.get(f"{api_url}/v1/scans/{scan['id']}/report?format=html")

    assert severe(browser) == []
    assert browser.title == f"Compliance report: {scan['name']} ({scan['id']})"
    assert browser.find_element(By.ID, "scan-name").text == scan["name"]
    score = browser.find_element(By.ID, "score")
    assert score.is_displayed() and score.text == str(scan["results"]["compliance_score"])
    assert browser.find_element(By.ID, "violations-total").text == str(scan["results"]["total_violations"])
    rows = browser.find_elements(By.CSS_SELECTOR, "#violations tr.violation")
    assert len(rows) == scan["results"]["total_violations"] and rows[0].is_displayed()
    banners = browser.find_elements(By.ID, "status-banner")
    if which == "cancelled":
        assert banners and banners[0].is_displayed() and banners[0].text.startswith("Cancelled:")
    else:
        assert banners == []
        points = browser.find_elements(By.CSS_SELECTOR, "#trend circle.trend-point")
        assert len(points) == 2  # the previous scan of the scope and this one
        assert browser.find_element(By.CSS_SELECTOR, "#framework-soc2 strong").text == "SOC 2"
        controls = browser.find_elements(By.CSS_SELECTOR, "#controls-iso27001 tbody tr")
        assert len(controls) == 93  # every control, in the appendix

    # The whole page as a picture, and as the auditor's printout.
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and size["height"] > 900
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF-")
    html = requests.get(browser.current_url, headers=history.tenant.headers, timeout=30).content
    for suffix, content in ((".png", png), (".pdf", pdf), (".html", html)):
        (tmp_path / f"report-{which}{suffix}").write_bytes(content)
        shutil.copyfile(tmp_path / f"report-{which}{suffix}", OUTPUT[which] + suffix)
    assert severe(browser) == []


def test_evidence_pack_renders_cleanly_in_chromium(browser, api_url, history, tmp_path):
    """A framework's evidence pack, with an attestation carrying a file, as an auditor opens and prints it."""
    from selenium.webdriver.common.by import By

    scan, headers = history.second, history.tenant.headers
    attestation = {
        "status": "compliant",
        "justification": "Contingency plan tested on 2026-10-02; <b>findings</b> closed",
        "evidence": {"url": "https://grc.example.com/hipaa/contingency-test"},
        "valid_until": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
    }
    created = requests.post(
        f"{api_url}/v1/frameworks/hipaa/controls/164.308(a)(7)(ii)(D)/attestations",
        headers=headers,
        data={"attestation": json.dumps(attestation)},
        files={"file": ("test-report.pdf", b"%PDF-1.7 contingency test", "application/pdf")},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    browser.get_log("browser")
    browser.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {history.tenant.key}"}}
    )
    browser.get(f"{api_url}/v1/scans/{scan['id']}/compliance/hipaa/report?format=html")

    assert severe(browser) == []
    assert browser.title == f"Evidence pack: HIPAA Security Rule, scan {scan['id']}"
    sections = browser.find_elements(By.CSS_SELECTOR, "#controls section.control")
    assert len(sections) == 68 and sections[0].is_displayed()
    attested = browser.find_element(By.CSS_SELECTOR, 'section[data-control="164.308(a)(7)(ii)(D)"]')
    assert attested.get_attribute("data-status") == "attested"
    box = attested.find_element(By.CSS_SELECTOR, ".attestation")
    assert "<b>findings</b>" in box.text  # escaped, shown as text
    links = [a.get_attribute("href") for a in box.find_elements(By.TAG_NAME, "a")]
    assert links == [
        "https://grc.example.com/hipaa/contingency-test",
        f"{api_url}/v1/attestations/{created.json()['id']}/evidence",
    ]
    failing = browser.find_elements(By.CSS_SELECTOR, "#controls tr.failing")
    pack = requests.get(f"{api_url}/v1/scans/{scan['id']}/compliance/hipaa/report", headers=headers, timeout=30).json()
    assert len(failing) == sum(c["failing_resources_total"] for c in pack["controls"]) > 0
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "evidence.pdf").write_bytes(pdf)
    shutil.copyfile(tmp_path / "evidence.pdf", "/tmp/policycortex-evidence.pdf")
    assert severe(browser) == []
