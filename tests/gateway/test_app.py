"""App: the host listeners run in the order of their priority."""

from __future__ import annotations

import dataclasses

from structlog.testing import capture_logs

from gateway.app import App, Priority, _log_demo_banner
from gateway.config import load_config
from gateway.host import EventBatch


async def test_listeners_run_by_priority(gateway: App) -> None:
    assert gateway.fix is not None and gateway.ws is not None and gateway.admin is not None
    assert gateway.host.listeners == [
        gateway.tracker,
        gateway.credentials,
        gateway.ws.venue.withdrawals,
        gateway.fix.on_batch,
        gateway.publisher,
        gateway.ws.listener,
        gateway.ws.venue.perp,
        gateway.admin.console,
    ]


async def test_a_listener_added_later_takes_its_place_by_priority(gateway: App) -> None:
    def after_fix(batch: EventBatch) -> None: ...

    def last(batch: EventBatch) -> None: ...

    assert gateway.publisher is not None
    gateway.listen(Priority.WS, last)
    gateway.listen(Priority.FIX, after_fix)
    listeners = gateway.host.listeners
    assert listeners.index(after_fix) == listeners.index(gateway.fix.on_batch) + 1
    assert listeners.index(after_fix) < listeners.index(gateway.publisher)
    assert listeners[-1] is last


def test_the_banner_says_where_the_history_store_is_without_its_password() -> None:
    config = load_config()
    with capture_logs() as logs:
        _log_demo_banner(config)
    assert "  history store  var/store.sqlite3 (journal follower)" in logs[0]["banner"]
    assert any(
        line.startswith("  console        http://127.0.0.1:8081/console")
        for line in logs[0]["banner"]
    )
    store = dataclasses.replace(config.store, url="postgresql://venue:s3cret@db/venue")
    with capture_logs() as logs:
        _log_demo_banner(dataclasses.replace(config, store=store))
    banner = "\n".join(logs[0]["banner"])
    assert "history store  postgresql://venue:***@db/venue" in banner
    assert "s3cret" not in banner
