"""A small WebDriver BiDi client, to drive the distribution's Firefox without geckodriver.

Firefox carries its own WebDriver BiDi agent: started with ``--remote-debugging-port=0``
it prints ``WebDriver BiDi listening on ws://...`` and takes BiDi commands (JSON over
that WebSocket). Debian packages no geckodriver and PyPI has none, so the console's
tests speak BiDi directly: one session, one top-level browsing context, and the few
commands they need (navigate, call a function, input actions, screenshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect

__all__ = ["FIREFOX", "BidiError", "BidiSession", "Firefox", "local_value", "remote_value"]

FIREFOX: Final = "/usr/bin/firefox-esr"
_LISTENING: Final = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")
#: Preferences for a quiet test profile: no first-run pages, no updates, no telemetry.
_PREFS: Final = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.aboutwelcome.enabled": False,
}


class BidiError(Exception):
    """A command's error answer (``error`` and ``message`` of the BiDi spec)."""

    def __init__(self, method: str, error: str, message: str) -> None:
        super().__init__(f"{method}: {error}: {message}")
        self.error = error


def local_value(value: object) -> dict[str, Any]:
    """A Python value as a BiDi LocalValue (a function call's argument)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, int | float):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, list | tuple):
        return {"type": "array", "value": [local_value(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[str(k), local_value(v)] for k, v in value.items()]}
    raise TypeError(f"no BiDi LocalValue for {type(value).__name__}")


def remote_value(value: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as Python: primitives, arrays and objects as themselves; a
    node or any other object as its RemoteValue (a truthy dict, with ``sharedId`` for
    a node), the way a WebDriver client hands back an element reference."""
    kind = value["type"]
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "number", "boolean"):
        return value["value"]
    if kind == "array":
        return [remote_value(v) for v in value.get("value", [])]
    if kind == "object":
        return {
            (k if isinstance(k, str) else remote_value(k)): remote_value(v)
            for k, v in value.get("value", [])
        }
    return value


class BidiSession:
    """One BiDi session over one WebSocket: commands by id; events are not used."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                waiter = self._waiting.pop(message.get("id", -1), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        finally:
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("the BiDi connection closed"))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer; its ``result``, or BidiError."""
        self._next_id += 1
        command_id = self._next_id
        waiter = self._waiting[command_id] = asyncio.get_running_loop().create_future()
        await self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        answer = await waiter
        if answer.get("type") == "error":
            raise BidiError(method, answer.get("error", ""), answer.get("message", ""))
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._ws.close()


class Firefox:
    """A headless Firefox process with a fresh profile and its BiDi session."""

    def __init__(self, process: asyncio.subprocess.Process, profile: Path) -> None:
        self.process = process
        self.profile = profile
        self.session: BidiSession | None = None
        self.context = ""

    @classmethod
    async def launch(cls, width: int, height: int, patience: float = 60.0) -> Firefox:
        """Start Firefox, open a BiDi session and size its first tab's viewport."""
        profile = Path(tempfile.mkdtemp(prefix="console-firefox-"))
        prefs = "".join(
            f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in _PREFS.items()
        )
        (profile / "user.js").write_text(prefs)
        log = profile / "firefox.log"  # a file, not a pipe: nobody has to keep reading it
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                FIREFOX, "--headless", "--no-remote", "--remote-debugging-port=0",
                "--profile", str(profile),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        browser = cls(process, profile)
        try:
            url = await browser._listening(log, patience)
            ws = await connect(url + "/session", max_size=None, open_timeout=patience)
            browser.session = BidiSession(ws)
            await browser.session.call("session.new", capabilities={})
            tree = await browser.call("browsingContext.getTree", maxDepth=0)
            # The tab Firefox starts with does not get the focus (document.hasFocus() is
            # false, and Enter on a focused button does nothing): a new foreground tab does.
            tab = await browser.call("browsingContext.create", type="tab", background=False)
            browser.context = tab["context"]
            await browser.call("browsingContext.close", context=tree["contexts"][0]["context"])
            await browser.call(
                "browsingContext.setViewport",
                context=browser.context,
                viewport={"width": width, "height": height},
            )
        except BaseException:
            await browser.quit()
            raise
        return browser

    async def _listening(self, log: Path, patience: float) -> str:
        """The agent's WebSocket URL, from the line Firefox prints once it listens."""
        deadline = asyncio.get_running_loop().time() + patience
        while True:
            found = _LISTENING.search(log.read_bytes())
            if found:
                return found.group(1).decode()
            if self.process.returncode is not None:
                raise RuntimeError(f"firefox exited ({self.process.returncode}): {log.read_text()}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"firefox did not start its BiDi agent: {log.read_text()}")
            await asyncio.sleep(0.05)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.session is not None
        return await self.session.call(method, **params)

    async def quit(self) -> None:
        """End the session and the browser (killed if it does not exit), drop the profile."""
        if self.session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.session.call("browser.close"), 10)
            await self.session.close()
            self.session = None
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
