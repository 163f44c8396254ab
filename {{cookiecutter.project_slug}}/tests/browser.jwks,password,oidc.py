"""Headless Chromium driven by selenium, for tests that open the service's pages.

The browser is Debian's ``chromium`` with ``chromium-driver`` (``apt-get install chromium
chromium-driver``), or the Chrome and ChromeDriver that GitHub's Ubuntu runners carry; ``CHROMIUM``
and ``CHROMEDRIVER`` name others. Without them the browser tests skip, and fail when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

FLAGS = (
    "--headless",
    "--no-sandbox",  # root, and most CI containers, cannot use Chromium's sandbox
    "--disable-gpu",
    "--no-first-run",
    # Without these Chromium keeps calling Google's hosts in the background.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host but 127.0.0.1 resolves: a page that needs a CDN breaks here instead of in production.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
)


def unavailable(reason: str) -> NoReturn:
    """Skip a test that needs a missing tool; in CI, where the tools must be installed, fail it."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def chromium_paths() -> tuple[str, str]:
    """The browser and its driver, or a skip (a failure in CI) naming what to install."""
    names = ("chromium", "google-chrome", "chromium-browser")
    binary = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, names)), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if driver is None and os.environ.get("CHROMEWEBDRIVER"):  # GitHub's runners keep it there
        driver = str(Path(os.environ["CHROMEWEBDRIVER"]) / "chromedriver")
    if binary is None or driver is None or not Path(driver).is_file():
        unavailable("no chromium and chromedriver: apt-get install chromium chromium-driver")
    return binary, driver


@contextlib.contextmanager
def chromium() -> Iterator[WebDriver]:
    """A fresh headless Chromium with an empty profile, quit and wiped afterwards."""
    binary, driver_path = chromium_paths()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = Options()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # An explicit driver keeps Selenium Manager from trying to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
