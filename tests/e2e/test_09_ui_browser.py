"""The Airflow UI in a real browser (headless Chromium from Debian, driven by Selenium): log
in through FAB's form, open movielens_ranking, see its successful run, open load_rankings'
log and find the task container's own output there. Screenshots of each page go to the
suite's work folder (E2E_WORK, .e2e/screenshots); `make screenshots` copies the DAG's page
into tests/e2e/screenshots/ for the README."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from tests.e2e.cluster import DAG_ID, E2E_NODE_PORT, FULLNAME, on_local_node, progress, wait_until
from tests.e2e.rankings import logical_date_of

SHOTS = Path(os.environ.get("E2E_WORK", Path(__file__).resolve().parents[2] / ".e2e")) / "screenshots"
DAY = "2019-08-01"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Chromium and its driver are missing: apt-get install chromium chromium-driver "
                    "(make e2e does, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000",
                "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def ui_base(release, airflow):
    """The UI as a user reaches it: the NodePort on the local node, else the port-forward."""
    if on_local_node():
        return f"http://127.0.0.1:{E2E_NODE_PORT}"
    return f"http://127.0.0.1:{airflow.service.port}"


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for_text(driver, what: str, predicate, timeout: float = 120) -> str:
    def found():
        try:
            text = page_text(driver)
        except WebDriverException:
            return None
        return text if predicate(text) else None
    return wait_until(what, found, timeout, interval=1)


def shot(driver, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    progress(f"screenshot {path}")
    return path


def test_the_ui_shows_the_run_and_the_task_containers_log(release, airflow, browser, ui_base, health):
    health.assert_healthy("before the browser test")
    airflow.wait_for_dag(DAG_ID, timeout=300)
    run_id, _ = airflow.run_dag(DAG_ID, logical_date_of(DAY))
    # what load-rankings prints ("loaded N rankings for DAY ..."), relayed into the task's log
    container_output = f"rankings for {DAY}"
    assert container_output in airflow.task_log(DAG_ID, run_id, "load_rankings")

    browser.get(f"{ui_base}/auth/login/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(release.secret(f"{FULLNAME}-airflow")["admin-password"])
    shot(browser, "01-login")
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait_until("logged in (left the login page)", lambda: "/auth/login" not in browser.current_url, 60)

    browser.get(f"{ui_base}/dags/{DAG_ID}")
    tasks = ("fetch_ratings", "rank_movies", "load_rankings")
    wait_for_text(browser, f"{DAG_ID}'s page with its grid of tasks",
                  lambda t: DAG_ID in t and all(task in t for task in tasks), timeout=180)
    # the grid shows each run as a column of state icons, linked to the run's page
    wait_until(f"the grid links run {run_id}", lambda: [
        a for a in browser.find_elements(By.TAG_NAME, "a") if f"/runs/{run_id}" in (a.get_attribute("href") or "")], 60)
    grid = shot(browser, "02-dag-grid")

    browser.get(f"{ui_base}/dags/{DAG_ID}/runs/{run_id}")
    wait_for_text(browser, f"run {run_id} shown as a success",
                  lambda t: run_id in t and re.search(r"\bsuccess\b", t, re.I), timeout=120)
    shot(browser, "03-dag-run")

    browser.get(f"{ui_base}/dags/{DAG_ID}/runs/{run_id}/tasks/load_rankings")
    wait_for_text(browser, "load_rankings' log with its container's output",
                  lambda t: container_output in t, timeout=180)
    shot(browser, "04-load-rankings-log")

    if os.environ.get("E2E_README_SCREENSHOT"):
        target = Path(os.environ["E2E_README_SCREENSHOT"])
        shutil.copyfile(grid, target)
        progress(f"README screenshot refreshed: {target}")
    health.checkpoint("the UI in a browser")
