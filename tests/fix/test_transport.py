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
from gateway.fix.codec import FixMessage, FrameReader
from gateway.fix.settings import AcceptorSettings, SessionSettings
from tests.fix.conftest import CLIENT, FixClient, RecordingApp


async def _logon_roundtrip(
    settings: AcceptorSettings, client_ssl: ssl.SSLContext | None = None
) -> FixMessage:
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
        assert not any(isinstance(i, FixMessage) for i in FrameReader().feed(data))
        writer.close()
    finally:
        await acc.stop(timeout=0.2)
