"""The wheel is the deliverable: built from a copy of the source tree, installed into a
fresh venv outside the repository, its console script starts a gateway whose FIX
acceptor answers a Logon (so the dictionaries ship as package data) and whose
/health answers. The pure wheel (VENUE_PURE=1): compiling the native one would take
minutes; docs/DEPLOY.md says how the native wheel is checked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.fixproto import encode, frame, parse, sending_time
from loadtest.gateway_runner import LOAD_PASSWORD, dump_toml, free_port, gateway_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout holds that is not source (builds, caches, venvs, data).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "var", "*.so", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """The command's output (stdout, then stderr); it must succeed."""
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's sources, so that builds leave the checkout alone."""
    src = tmp_path_factory.mktemp("wheel") / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    return src


def build_wheel(src: Path, out: Path, **env: str) -> tuple[Path, str]:
    """The wheel built from ``src`` into ``out`` (VENUE_* settings from ``env`` only)
    and the build's output."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("VENUE_")}
    log = run(sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", out, src,
              cwd=out.parent, env={**keep, **env})  # fmt: skip
    (wheel,) = out.glob("venue_gateway-*.whl")
    return wheel, log


def test_without_a_compiler_the_wheel_is_pure_python_with_a_warning(
    source: Path, tmp_path: Path
) -> None:
    wheel, log = build_wheel(source, tmp_path / "dist", CC="/nonexistent/cc")
    assert wheel.name.endswith("-py3-none-any.whl")
    assert "WARNING: venue-gateway: no C compiler (/nonexistent/cc); building pure Python" in log


@pytest.fixture(scope="module")
def venv(source: Path) -> Path:
    """A fresh venv (outside the repository) with the pure wheel installed."""
    tmp = source.parent
    wheel, _ = build_wheel(source, tmp / "dist", VENUE_PURE="1")
    assert wheel.name.endswith("-py3-none-any.whl")
    run(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp)
    pip = tmp / "venv" / "bin" / "pip"
    run(pip, "install", "-q", "-c", ROOT / "constraints.txt", wheel, cwd=tmp)
    return tmp / "venv"


def test_the_packages_import_from_the_venv_with_their_data(venv: Path) -> None:
    code = (
        "import engine, gateway, fix_specs, importlib.resources as r; "
        "print(gateway.__file__); print(engine.NATIVE, gateway.NATIVE); "
        "print(sorted(p.name for p in r.files('fix_specs').iterdir()))"
    )
    out = run(venv / "bin" / "python", "-c", code, cwd=venv).splitlines()
    assert Path(out[0]).is_relative_to(venv)
    assert out[1] == "() ()"
    assert {"FIX44.xml", "FIXT11.xml", "FIX50SP2.xml", "LICENSE.quickfix"} <= set(eval(out[2]))
    site = (
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )
    for module in ("engine", "gateway"):
        assert (site / module / "py.typed").is_file()
    # the operations console's page ships in the package (no build step)
    for asset in ("index.html", "console.js", "console.css"):
        assert (site / "gateway" / "admin" / "console" / "static" / asset).is_file(), asset


def test_the_loadtest_console_script_runs(venv: Path) -> None:
    assert "fix-orders" in run(venv / "bin" / "venue-loadtest", "--help", cwd=venv)


@pytest.fixture
def installed_gateway(venv: Path, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`venue-gateway --config ...` from the venv, run in an empty directory."""
    fix_port, ws_port, http_port = free_port(), free_port(), free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(dump_toml(gateway_config(tmp_path, fix_port, ws_port, http_port, 1)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [venv / "bin" / "venue-gateway", "--config", config],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield fix_port, http_port
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
        print((tmp_path / "gateway.log").read_text(errors="replace")[-3000:])


def get(http_port: int, path: str, timeout_s: float = 60.0) -> bytes:
    """The body of the first 200 answer to GET ``path`` (retried while not listening or
    503 starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}{path}", timeout=2) as r:
                return bytes(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def logon(fix_port: int) -> dict[bytes, bytes]:
    """A password Logon as LOAD1; the gateway's first answer."""
    msg = encode(b"FIX.4.4", [
        (35, "A"), (49, "LOAD1"), (56, "GATEWAY"), (34, 1), (52, sending_time()),
        (98, 0), (108, 30), (141, "Y"), (553, "LOAD1"), (554, LOAD_PASSWORD),
    ])  # fmt: skip
    with socket.create_connection(("127.0.0.1", fix_port), timeout=30) as sock:
        sock.sendall(msg)
        buf = bytearray()
        while not (messages := frame(buf)):
            chunk = sock.recv(65536)
            assert chunk, "the gateway closed the connection without answering"
            buf += chunk
    return parse(messages[0])


def test_the_console_script_serves_health_and_fix_logon(
    installed_gateway: tuple[int, int],
) -> None:
    fix_port, http_port = installed_gateway
    assert b'"ok"' in get(http_port, "/health")
    get(http_port, "/ready")  # /health answers before the FIX acceptor listens
    answer = logon(fix_port)
    assert answer[b"35"] == b"A", answer
