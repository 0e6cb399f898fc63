"""The acceptor on uvloop and over TLS (real sockets)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.fix.acceptor import FixAcceptor
from gateway.fix.settings import AcceptorSettings, SessionSettings
from tests.fix.conftest import CLIENT, ClientMessage, FixClient, Harness, RecordingApp


async def _logon_roundtrip(
    settings: AcceptorSettings, client_ssl: ssl.SSLContext | None = None
) -> ClientMessage:
    app = RecordingApp()
    acc = FixAcceptor(settings, [SessionSettings(target_comp_id=CLIENT)], app)
    await acc.start()
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            acc.port,
            ssl=client_ssl,
            server_hostname="localhost" if client_ssl else None,
        )
        c = FixClient(reader, writer)
        resp = await c.logon()
        await c.send(
            "D", [(11, "U1"), (55, "X"), (54, "1"), (60, "20240101-00:00:00"), (38, "1"), (40, "1")]
        )
        er = await c.expect("8")
        assert er.get(11) == b"U1"
        await c.close()
        return resp
    finally:
        await acc.stop(timeout=0.2)


def test_acceptor_on_uvloop(tmp_path: Path) -> None:
    settings = AcceptorSettings(host="127.0.0.1", port=0, store_dir=tmp_path)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        resp = runner.run(_logon_roundtrip(settings))
    assert resp.msg_type == "A"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_acceptor_over_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = AcceptorSettings(
        host="127.0.0.1", port=0, store_dir=tmp_path / "s", tls_cert=cert, tls_key=key
    )
    client_ctx = ssl.create_default_context(cafile=str(cert))
    resp = await _logon_roundtrip(settings, client_ctx)
    assert resp.msg_type == "A"


async def test_plain_client_cannot_talk_to_tls_acceptor(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = AcceptorSettings(
        host="127.0.0.1", port=0, store_dir=tmp_path / "s", tls_cert=cert, tls_key=key
    )
    acc = FixAcceptor(settings, [SessionSettings(target_comp_id=CLIENT)], RecordingApp())
    await acc.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", acc.port)
        writer.write(FixClient(reader, writer).build("A", [(98, 0), (108, 30)]))
        data = await asyncio.wait_for(reader.read(4096), 2)
        assert b"8=FIX" not in data  # a TLS alert, or nothing: no FIX answer in clear
        writer.close()
    finally:
        await acc.stop(timeout=0.2)


async def test_client_that_stops_reading_is_disconnected_and_loses_nothing(
    harness: Harness,
) -> None:
    """A reader that stops reading backs up into the (bounded) transport buffer; the
    acceptor disconnects it after slow_consumer_timeout_s, and every message it missed
    is still in the store: a ResendRequest after the next Logon brings it back."""
    await harness.start(
        send_buffer_bytes=16 << 10, write_buffer_high=64 << 10, slow_consumer_timeout_s=0.3
    )
    client = await harness.connect(rcvbuf=8 << 10)
    await client.logon()
    session = harness.session()
    body = b"58=" + b"x" * 400 + b"\x01"  # News (B), ~0.5 KB each
    count = 2000  # ~1 MB: far beyond 16 KiB + 64 KiB + the client's receive buffer
    for _ in range(count):
        session.send("B", body)
    # The client reads nothing; the acceptor must give up on it by itself.
    await harness.wait_for(lambda: not session.is_connected, timeout=5.0)
    assert session.next_sender_seq == count + 2  # Logon + count messages: all stored
    again = await harness.connect()
    again.seq = client.seq
    answer = await again.logon()
    assert answer.get(34) == str(count + 2).encode()
    await again.send("2", [(7, 2), (16, 4)])  # resend the first three News
    resent = [await again.expect("B") for _ in range(3)]
    assert [m.get(34) for m in resent] == [b"2", b"3", b"4"]
    assert {m.get(43) for m in resent} == {b"Y"}


async def test_tls_handshake_that_never_comes_is_cut_at_the_logon_timeout(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = AcceptorSettings(
        host="127.0.0.1",
        port=0,
        store_dir=tmp_path / "s",
        tls_cert=cert,
        tls_key=key,
        logon_timeout_s=0.2,
    )
    acc = FixAcceptor(settings, [SessionSettings(target_comp_id=CLIENT)], RecordingApp())
    await acc.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", acc.port)
        # no ClientHello, ever; the bound is patience, the default would be 60 s
        assert await asyncio.wait_for(reader.read(1), 10) == b""
        writer.close()
    finally:
        await acc.stop(timeout=0.2)
