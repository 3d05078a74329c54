"""A real browser for the page tests: Debian's `chromium` (installed on demand, as the OVS tests
install Open vSwitch) driven by Playwright, on the test loop, against the session's app served by
uvicorn (tests/conftest.py `live_url`). Each test's page is screenshotted at its end into
$NETPROV_TEST_ARTIFACTS (default tests/artifacts/, git-ignored)."""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from plugins.ovs.linux import ToolsUnavailableError, ensure_tools

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("NETPROV_TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "artifacts")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    try:
        ensure_tools({"chromium": "chromium"})
    except ToolsUnavailableError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium: {error}", pytrace=False)
        pytest.skip(f"chromium: {error}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, request) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 700})
    page = await context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            await context.close()
