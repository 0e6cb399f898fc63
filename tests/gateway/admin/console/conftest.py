"""A real headless Chromium (the distribution's, driven by its chromedriver) against a
real gateway's /console, and the screenshots the tests leave behind.

Selenium is synchronous and the gateway runs on the test's event loop, so every driver
call goes to a thread (``Browser.run``). Screenshots go to ``CONSOLE_ARTIFACTS``
(default var/test-artifacts/console); with ``UPDATE_CONSOLE_DOCS=1`` also to
docs/console/, the screenshots the operator's guide shows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.app import App

ROOT = Path(__file__).resolve().parents[4]
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", ROOT / "var" / "test-artifacts" / "console"))
DOCS = ROOT / "docs" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: A bound on waits for what must happen at once; not a timing assertion.
PATIENCE_S = 10.0


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": CI must run the browser tests")
        pytest.skip(reason)


class Browser:
    """One Chromium window on one gateway's console."""

    def __init__(self, driver: Any, base: str, name: str) -> None:
        self.driver = driver
        self.base = base
        self.name = name

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def open(self) -> None:
        await self.run(self.driver.get, self.base + "/console")

    async def js(self, script: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, script, *args)

    async def js_async(self, script: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_async_script, script, *args)

    async def until(self, script: str, *args: Any, patience: float = PATIENCE_S) -> Any:
        """Wait until the JS expression ``script`` (a function body's return) is truthy;
        its value."""
        deadline = time.monotonic() + patience
        while True:
            value = await self.js(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                await self.shot("timeout")
                raise AssertionError(f"not true within {patience} s: {script}")
            await asyncio.sleep(0.02)

    async def type(self, selector: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        def act() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, selector)
            field.clear()
            field.send_keys(text)

        await self.run(act)

    async def click(self, selector: str) -> None:
        """A real click (the element must be visible and enabled)."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        def act() -> None:
            for _ in range(5):  # a live push may replace the element between find and click
                try:
                    self.driver.find_element(By.CSS_SELECTOR, selector).click()
                    return
                except StaleElementReferenceException:
                    continue
            raise AssertionError(f"{selector} kept going stale")

        await self.until("return !!document.querySelector(arguments[0])", selector)
        await self.run(act)

    async def keys(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        await self.run(lambda: ActionChains(self.driver).send_keys(*keys).perform())

    async def login(self, operator: str, seed: str) -> None:
        await self.open()
        await self.type("#login-operator", operator)
        await self.type("#login-seed", seed)
        await self.click("#login-submit")
        await self.until("return !document.getElementById('shell').hidden")
        await self.until("return document.getElementById('live').textContent === 'live'")

    async def confirm(self, reason: str, enter: bool = False) -> None:
        """Fill in the confirmation dialog's reason and confirm (with the Enter key)."""
        await self.until("return document.getElementById('confirm').open")
        await self.type("#confirm-reason", reason)
        if enter:
            await self.keys("\ue007")  # selenium's Keys.ENTER
        else:
            await self.click("#confirm-ok")
        await self.until("return !document.getElementById('confirm').open")

    async def shot(self, label: str, docs: str = "") -> Path:
        """A screenshot in the artifacts; ``docs`` names the copy docs/CONSOLE.md shows
        (written with UPDATE_CONSOLE_DOCS=1)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        await self.run(self.driver.save_screenshot, str(path))
        if docs and os.environ.get("UPDATE_CONSOLE_DOCS") == "1":
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS / f"{docs}.png")
        return path


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,1000",
                 "--disable-dev-shm-usage", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


MakeBrowser = Callable[[App], Awaitable[Browser]]


@pytest.fixture
async def make_browser(request: pytest.FixtureRequest) -> AsyncIterator[MakeBrowser]:
    """Headless Chromium windows on a gateway's console, quit at the end of the test."""
    _need_browser()
    drivers: list[Any] = []

    async def make(app: App) -> Browser:
        assert app.admin is not None
        driver = await asyncio.to_thread(_driver)
        drivers.append(driver)
        driver.set_script_timeout(PATIENCE_S)
        name = request.node.name.removeprefix("test_")
        return Browser(driver, f"http://127.0.0.1:{app.admin.port}", name)

    yield make
    for driver in drivers:
        await asyncio.to_thread(driver.quit)


@pytest.fixture
async def browser(app: App, make_browser: MakeBrowser) -> Browser:
    """A headless Chromium on the ``app`` gateway's console (tests/gateway/conftest.py)."""
    return await make_browser(app)
