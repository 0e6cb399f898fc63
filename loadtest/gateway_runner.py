"""Start a real gateway (``python -m gateway``) on a temporary data dir for a load run.

Used by ``python -m loadtest ... --spawn-gateway`` (and so ``make loadtest``) and by
the end-to-end tests.  The gateway gets a TOML written here, laid over its embedded
demo config: ``[journal] dir`` and ``[fix] store_dir`` in the temp dir, loopback
listen addresses (free ports by default), and extra password order-entry sessions
``LOAD1..LOADn`` (password :data:`LOAD_PASSWORD`, accounts alternating ACC1/ACC2) so
a run can open more FIX sessions than the demo's CLIENT1/CLIENT2.

:func:`scrape_metrics` reads the gateway's Prometheus ``/metrics`` so a result can be
compared with what the gateway counted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = [
    "LOAD_PASSWORD",
    "GatewayProcess",
    "free_port",
    "metric_sum",
    "parse_metrics",
    "scrape_metrics",
]

#: password of the LOADn sessions, which this runner adds (no demo session shares it).
LOAD_PASSWORD = "load-password"

_LOAD_PASSWORD_HASH = (
    "scrypt$6d75f1454807b19e43e3e67af0e325d7$"
    "ff1ad529d83a95d5a22f3761adbd649369cd17ea74b58d9f8d7b4233cc4ca83e"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_toml() -> dict[str, Any]:
    spec = importlib.util.find_spec("gateway")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the gateway package is not importable from this interpreter")
    path = Path(next(iter(spec.submodule_search_locations))) / "demo.toml"
    with path.open("rb") as fh:
        return tomllib.load(fh)


# -- a small TOML writer (the config only has strings, numbers, bools, lists, tables)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _toml_table(name: str, table: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not _is_table_array(v)}
    for k, v in scalars.items():
        out.append(f"{k} = {_toml_value(v)}")
    for k, v in table.items():
        if _is_table_array(v):
            for item in v:
                out.append(f"\n[[{name}.{k}]]" if name else f"\n[[{k}]]")
                _toml_table(f"{name}.{k}" if name else k, item, out)


def dump_toml(doc: dict[str, Any]) -> str:
    """TOML text for ``doc`` (top-level scalars, tables, arrays of tables)."""
    out: list[str] = []
    for k, v in doc.items():
        if not isinstance(v, dict) and not _is_table_array(v):
            out.append(f"{k} = {_toml_value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict):
            out.append(f"\n[{k}]")
            _toml_table(k, v, out)
        elif _is_table_array(v):
            for item in v:
                out.append(f"\n[[{k}]]")
                _toml_table(k, item, out)
    return "\n".join(out) + "\n"


def gateway_config(
    data_dir: Path,
    fix_port: int,
    ws_port: int,
    http_port: int,
    load_sessions: int = 8,
    fsync: str = "batch",
    log_level: str = "warning",
) -> dict[str, Any]:
    """The demo config with its data in ``data_dir``, loopback ports and LOADn sessions."""
    doc = _demo_toml()
    doc["log_level"] = log_level
    doc["journal"] = {**doc["journal"], "dir": str(data_dir / "journal"), "fsync": fsync}
    fix = dict(doc["fix"])
    fix["listen"] = f"127.0.0.1:{fix_port}"
    fix["store_dir"] = str(data_dir / "fix")
    sessions = list(fix.get("sessions", []))
    for n in range(1, load_sessions + 1):
        sessions.append(
            {
                "target_comp_id": f"LOAD{n}",
                "role": "order_entry",
                "account": ["ACC1" if n % 2 else "ACC2"],
                "auth": "password",
                "password_hash": _LOAD_PASSWORD_HASH,
                "reset_on_logon": True,
                "max_msgs_per_s": 1_000_000,
            }
        )
    fix["sessions"] = sessions
    fix["max_connections_per_source"] = 0
    doc["fix"] = fix
    ws = dict(doc["ws"])
    ws["listen"] = f"127.0.0.1:{ws_port}"
    ws["max_requests_per_s"] = 1_000_000
    ws["max_connections_per_source"] = 0  # every load client comes from loopback
    doc["ws"] = ws
    doc["http"] = {**doc.get("http", {}), "listen": f"127.0.0.1:{http_port}"}
    doc["admin"] = {**doc.get("admin", {}), "listen": "127.0.0.1:0"}
    # The journal follower competes for the same cores: off unless a run asks for it
    # (overrides={"store": {"follower": True}}), so figures stay comparable across runs.
    doc["store"] = {"follower": False}
    # The demo liquidity provider's orders would be counted as the load's: off.
    doc["demo_lp"] = {"enabled": False}
    return doc


class GatewayProcess:
    """``python -m gateway --config <temp>`` in a subprocess; a context manager.

    ``default_ports=True`` uses the demo ports 9878/8765/8080 (what ``make run``
    prints); otherwise free ports are picked.  The data dir is removed at exit
    unless ``keep`` (or it was given).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        default_ports: bool = False,
        load_sessions: int = 8,
        fsync: str = "batch",
        python: str | None = None,
        log_file: str | Path | None = None,
        keep: bool = False,
        log_level: str = "warning",
        overrides: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        #: per-section keys laid over the generated config, e.g. {"fix": {"logon_timeout_s": 2}}
        self.overrides = overrides or {}
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="loadtest-gw-"))
        self.keep = keep or not self._own_dir
        if default_ports:
            self.fix_port, self.ws_port, self.http_port = 9878, 8765, 8080
        else:
            self.fix_port, self.ws_port, self.http_port = free_port(), free_port(), free_port()
        self.load_sessions = load_sessions
        self.fsync = fsync
        self.python = python or sys.executable
        self.log_level = log_level
        #: the gateway's stderr (its JSON log); stdout, which should stay empty, apart
        self.log_path = Path(log_file) if log_file else self.data_dir / "gateway.log"
        self.stdout_path = self.log_path.with_suffix(".stdout")
        self.config_path = self.data_dir / "gateway.toml"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

    def start(self, timeout_s: float = 30.0) -> GatewayProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        doc = gateway_config(
            self.data_dir,
            self.fix_port,
            self.ws_port,
            self.http_port,
            self.load_sessions,
            self.fsync,
            self.log_level,
        )
        for section, values in self.overrides.items():
            doc[section] = {**doc.get(section, {}), **values}
        self.config_path.write_text(dump_toml(doc))
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [self.python, "-m", "gateway", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                cwd=str(self.data_dir),
            )
        try:
            self.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout_s: float) -> None:
        """Poll GET /ready (falling back to the FIX port) until the gateway answers."""
        t_end = time.monotonic() + timeout_s
        while time.monotonic() < t_end:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.http_url + "/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError:
                pass  # 503 starting
            except OSError:
                # No HTTP server (yet)? A gateway without one is ready when FIX listens.
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.fix_port), timeout=0.5),
                ):
                    if not self._http_listening():
                        return
            time.sleep(0.1)
        raise RuntimeError(f"gateway not ready after {timeout_s:g} s: {self.log_tail()}")

    def _http_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5):
                return True
        except OSError:
            return False

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def metrics(self) -> dict[str, float]:
        return scrape_metrics(self.http_url + "/metrics")

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM (graceful: the journal is flushed), then SIGKILL if it hangs."""
        rc: int | None = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            rc = self.proc.returncode
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return rc

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# name, labels (a quoted value may hold any character, escaped quotes too), value
_LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)$')


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {``name{labels}``: value} (labels as rendered)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE_RE.match(line.strip())
        if m:
            with contextlib.suppress(ValueError):
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def scrape_metrics(url: str, timeout_s: float = 5.0) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        return parse_metrics(r.read().decode())


def metric_sum(metrics: dict[str, float], name: str, **labels: str) -> float:
    """Sum of every series of ``name`` whose labels include ``labels``."""
    total = 0.0
    for key, v in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        if all(f'{k}="{val}"' in rest for k, val in labels.items()):
            total += v
    return total


def _main() -> int:  # pragma: no cover - manual use: python -m loadtest.gateway_runner
    import argparse

    ap = argparse.ArgumentParser(description="run a gateway on a temp data dir until Ctrl-C")
    ap.add_argument("--default-ports", action="store_true")
    ap.add_argument("--load-sessions", type=int, default=8)
    args = ap.parse_args()
    gw = GatewayProcess(default_ports=args.default_ports, load_sessions=args.load_sessions)

    def on_term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt  # stop the gateway too, not just this wrapper

    signal.signal(signal.SIGTERM, on_term)
    gw.start()
    print(
        json.dumps(
            {
                "pid": gw.pid,
                "fix_port": gw.fix_port,
                "ws_url": gw.ws_url,
                "http": gw.http_url,
                "data_dir": str(gw.data_dir),
            }
        ),
        flush=True,
    )
    try:
        while gw.proc is not None and gw.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        gw.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
