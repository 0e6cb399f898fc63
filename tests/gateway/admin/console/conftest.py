"""Real headless browsers against a real gateway's /console, and the screenshots the
tests leave behind.

Two engines, one interface (:class:`Browser`): the distribution's Chromium, driven by
its chromedriver through selenium, and the distribution's Firefox (firefox-esr), driven
over WebDriver BiDi by its own remote agent (``bidi.py``: Debian has no geckodriver).
A test gets Chromium; one marked :data:`both_browsers` runs once in each.

Selenium is synchronous and the gateway runs on the test's event loop, so every
selenium call goes to a thread; the BiDi client is asynchronous. Screenshots go to
``CONSOLE_ARTIFACTS`` (default var/test-artifacts/console); with
``UPDATE_CONSOLE_DOCS=1`` Chromium's also to docs/console/, the screenshots the
operator's guide shows.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.app import App
from tests.gateway.admin.console.bidi import FIREFOX, BidiError, Firefox, local_value, remote_value

ROOT = Path(__file__).resolve().parents[4]
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", ROOT / "var" / "test-artifacts" / "console"))
DOCS = ROOT / "docs" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: A bound on waits for what must happen at once; not a timing assertion.
PATIENCE_S = 10.0
WIDTH, HEIGHT = 1366, 1000
#: Runs a console test in Chromium and in Firefox.
both_browsers = pytest.mark.parametrize("engine", ["chromium", "firefox"], indirect=True)
_INSTALL = {
    "chromium": ((CHROMIUM, CHROMEDRIVER), "apt-get install chromium chromium-driver"),
    "firefox": ((FIREFOX,), "apt-get install firefox-esr"),
}


def _need_browser(engine: str) -> None:
    paths, install = _INSTALL[engine]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        reason = f"{', '.join(missing)} not installed ({install})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ": CI must run the browser tests")
        pytest.skip(reason)


class Browser:
    """One browser window on one gateway's console: what the tests do with it. The
    engines implement the primitives (open, js, js_async, type, click, keys, _save)."""

    engine = ""

    def __init__(self, base: str, name: str) -> None:
        self.base = base
        self.name = name

    async def open(self) -> None:
        raise NotImplementedError

    async def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` as a function body (``arguments[i]`` are ``args``); its return."""
        raise NotImplementedError

    async def js_async(self, script: str, *args: Any) -> Any:
        """Like js, with a callback as the last argument: what it is called with."""
        raise NotImplementedError

    async def type(self, selector: str, text: str) -> None:
        """Clear the field and type ``text`` into it, key by key."""
        raise NotImplementedError

    async def click(self, selector: str) -> None:
        """A real click (the element must be visible and enabled)."""
        raise NotImplementedError

    async def keys(self, *keys: str) -> None:
        """Key presses to the focused element (WebDriver key codes: "\\ue007" is Enter)."""
        raise NotImplementedError

    async def _save(self, path: Path) -> None:
        raise NotImplementedError

    async def quit(self) -> None:
        raise NotImplementedError

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
            await self.keys("\ue007")
        else:
            await self.click("#confirm-ok")
        await self.until("return !document.getElementById('confirm').open")

    async def shot(self, label: str, docs: str = "") -> Path:
        """A screenshot in the artifacts; ``docs`` names the copy docs/CONSOLE.md shows
        (written with UPDATE_CONSOLE_DOCS=1, from Chromium)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        await self._save(path)
        if docs and self.engine == "chromium" and os.environ.get("UPDATE_CONSOLE_DOCS") == "1":
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS / f"{docs}.png")
        return path


class Chromium(Browser):
    """Chromium through selenium and chromedriver (each call on a thread)."""

    engine = "chromium"

    def __init__(self, driver: Any, base: str, name: str) -> None:
        super().__init__(base, name)
        self.driver = driver

    @classmethod
    async def launch(cls, base: str, name: str) -> Chromium:
        driver = await asyncio.to_thread(_chrome_driver)
        driver.set_script_timeout(PATIENCE_S)
        return cls(driver, base, name)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def open(self) -> None:
        await self.run(self.driver.get, self.base + "/console")

    async def js(self, script: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, script, *args)

    async def js_async(self, script: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_async_script, script, *args)

    async def type(self, selector: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        def act() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, selector)
            field.clear()
            field.send_keys(text)

        await self.run(act)

    async def click(self, selector: str) -> None:
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

    async def _save(self, path: Path) -> None:
        await self.run(self.driver.save_screenshot, str(path))

    async def quit(self) -> None:
        await self.run(self.driver.quit)


def _chrome_driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class FirefoxBrowser(Browser):
    """Firefox over WebDriver BiDi (bidi.py): scripts run in the page's own realm, clicks
    and keys are BiDi input actions, as a user's would be."""

    engine = "firefox"

    def __init__(self, firefox: Firefox, base: str, name: str) -> None:
        super().__init__(base, name)
        self.firefox = firefox

    @classmethod
    async def launch(cls, base: str, name: str) -> FirefoxBrowser:
        return cls(await Firefox.launch(WIDTH, HEIGHT), base, name)

    async def open(self) -> None:
        await self.firefox.call(
            "browsingContext.navigate",
            context=self.firefox.context,
            url=self.base + "/console",
            wait="complete",
        )

    async def _call(self, declaration: str, args: tuple[Any, ...]) -> Any:
        answer = await self.firefox.call(
            "script.callFunction",
            functionDeclaration=declaration,
            arguments=[local_value(a) for a in args],
            target={"context": self.firefox.context},
            awaitPromise=True,
        )
        if answer["type"] == "exception":
            details = answer["exceptionDetails"]
            raise AssertionError(f"script failed: {details.get('text')}: {declaration}")
        return remote_value(answer["result"])

    async def js(self, script: str, *args: Any) -> Any:
        return await self._call(f"function() {{ {script}\n}}", args)

    async def js_async(self, script: str, *args: Any) -> Any:
        return await self._call(
            "function(...args) { return new Promise((done) => {"
            f" (function() {{ {script}\n}}).apply(this, [...args, done]); }}); }}",
            args,
        )

    async def type(self, selector: str, text: str) -> None:
        await self.js(
            "const field = document.querySelector(arguments[0]); field.value = ''; field.focus();",
            selector,
        )
        await self.keys(text)

    async def click(self, selector: str) -> None:
        await self.until("return !!document.querySelector(arguments[0])", selector)
        for _ in range(5):  # a live push may replace the element between find and click
            node = await self.js(
                "const node = document.querySelector(arguments[0]);"
                " node.scrollIntoView({block: 'center'}); return node;",
                selector,
            )
            origin = {"type": "element", "element": {"sharedId": node["sharedId"]}}
            pointer = [
                {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ]
            try:
                await self._actions({"type": "pointer", "id": "mouse", "actions": pointer})
                return
            except BidiError as error:
                if error.error != "no such node":
                    raise
        raise AssertionError(f"{selector} kept going stale")

    async def keys(self, *keys: str) -> None:
        presses: list[dict[str, str]] = []
        for key in "".join(keys):
            presses += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        await self._actions({"type": "key", "id": "keyboard", "actions": presses})

    async def _actions(self, source: dict[str, Any]) -> None:
        context = self.firefox.context
        await self.firefox.call("input.performActions", context=context, actions=[source])
        await self.firefox.call("input.releaseActions", context=context)

    async def _save(self, path: Path) -> None:
        shot = await self.firefox.call(
            "browsingContext.captureScreenshot", context=self.firefox.context
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    async def quit(self) -> None:
        await self.firefox.quit()


MakeBrowser = Callable[[App], Awaitable[Browser]]
_ENGINES: dict[str, Callable[[str, str], Awaitable[Browser]]] = {
    "chromium": Chromium.launch,
    "firefox": FirefoxBrowser.launch,
}


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The browser a test runs in: Chromium, unless :data:`both_browsers` says both."""
    return str(getattr(request, "param", "chromium"))


@pytest.fixture
async def make_browser(request: pytest.FixtureRequest, engine: str) -> AsyncIterator[MakeBrowser]:
    """Headless browser windows on a gateway's console, closed at the end of the test."""
    _need_browser(engine)
    browsers: list[Browser] = []

    async def make(app: App) -> Browser:
        assert app.admin is not None
        name = request.node.originalname.removeprefix("test_")
        if engine != "chromium":
            name += f"-{engine}"
        browser = await _ENGINES[engine](f"http://127.0.0.1:{app.admin.port}", name)
        browsers.append(browser)
        return browser

    yield make
    for browser in browsers:
        await browser.quit()


@pytest.fixture
async def browser(app: App, make_browser: MakeBrowser) -> Browser:
    """A headless browser on the ``app`` gateway's console (tests/gateway/conftest.py)."""
    return await make_browser(app)
