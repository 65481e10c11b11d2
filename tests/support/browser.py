"""Debian's Chromium through Debian's chromedriver (nothing is downloaded), and page helpers."""

from __future__ import annotations

import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Headless and quiet: no sandbox (root in a container), no GPU, and no background requests of
# Chromium's own (updates, sync, first-run pages) mixed into what a test or benchmark observes.
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium_installed() -> bool:
    """True when both `chromium` and `chromedriver` are on the PATH."""
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def start_chromium(window_size: str = "1280,900", logs: tuple[str, ...] = ("browser",)):
    """A new headless Chromium with a new, empty profile, a window of `window_size` pixels
    ("width,height") and the Selenium logs `logs` kept ("browser": the console;
    "performance": DevTools events)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_ARGUMENTS, f"--window-size={window_size}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", dict.fromkeys(logs, "ALL"))
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def fill(driver, values: dict[str, str]) -> None:
    """Type `values` into the form fields of those names."""
    for name, value in values.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def console_problems(driver) -> list[str]:
    """Console errors and CSP violations the page produced so far."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
    ]
