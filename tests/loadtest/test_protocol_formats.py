"""The harness's wire formats against the gateway's documented ones.

* FIX Ed25519 logon: fix_specs/ed25519_test_vectors.json (payload, signature, the
  complete Logon message) must come out of loadtest.fixproto byte for byte.
* WebSocket: the ``session.logon`` payload/signature and the book checksum of
  docs/WS_API.md, and the local book a subscriber keeps.
* The gateway config the runner writes, and the process roles under --procs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tomllib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loadtest.fixproto import (
    encode,
    fix_logon_signature_payload,
    fix_logon_signed_bytes,
    sign_logon_ed25519,
)
from loadtest.gateway_runner import dump_toml, gateway_config, metric_sum, parse_metrics
from loadtest.scenarios import RunConfig, proc_roles
from loadtest.ws_client import LocalBook, WsConfig, book_checksum, ws_logon_payload, ws_sign

ROOT = Path(__file__).resolve().parents[2]


def test_fix_ed25519_logon_matches_the_published_vectors() -> None:
    doc = json.loads((ROOT / "fix_specs" / "ed25519_test_vectors.json").read_text())
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(doc["seed_hex"]))
    for v in doc["vectors"]:
        fields = [(tag, value.encode()) for tag, value in v["fields"]]
        payload = fix_logon_signature_payload(v["begin_string"].encode(), fields)
        assert payload.hex() == v["payload_hex"]
        assert fix_logon_signed_bytes(v["logon_message"].replace("|", "\x01").encode()) == payload
        sig = sign_logon_ed25519(key, payload, "base64")
        assert sig.decode() == v["signature_base64"]
        assert sign_logon_ed25519(key, payload, "raw").hex() == v["signature_hex"]
        # The Logon as the FIX client builds it: the signature after the signed fields.
        msg = encode(v["begin_string"].encode(), [*fields, (95, len(sig)), (96, sig)])
        assert msg.replace(b"\x01", b"|").decode() == v["logon_message"]


def test_ws_logon_signature_as_documented() -> None:
    ts = 1732341000123
    assert ws_logon_payload("demo-acc1", ts) == b"demo-acc1\n1732341000123"
    cfg = WsConfig(api_key="demo-acc1", hmac_secret="demo-secret-acc1")
    want = hmac.new(b"demo-secret-acc1", b"demo-acc1\n1732341000123", hashlib.sha256)
    assert ws_sign(cfg, ts) == want.hexdigest()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    sig = ws_sign(WsConfig(api_key="demo-acc1", ed25519_key=key), ts)
    assert len(sig) == 128
    key.public_key().verify(bytes.fromhex(sig), b"demo-acc1\n1732341000123")


def test_book_checksum_documented_example() -> None:
    assert book_checksum([["100.5", "1"], ["100.49", "0.25"]], [["101", "2"]]) == 1862107259
    assert book_checksum([], []) == 0


def test_local_book_applies_absolute_deltas() -> None:
    book = LocalBook(7)
    book.apply({"bids": [["100.5", "1"], ["100.49", "0.25"]], "asks": [["101", "2"]]})
    book.apply({"bids": [["100.48", "3"]], "asks": [["101", "0"], ["100.9", "1"]]})
    want = book_checksum([["100.5", "1"], ["100.49", "0.25"], ["100.48", "3"]], [["100.9", "1"]])
    assert book.checksum() == want
    # prices sort numerically, not as strings
    book.apply({"bids": [["99.99", "1"], ["1000", "1"]]})
    assert sorted(book.bids, key=float, reverse=True)[0] == "1000"
    assert book.checksum() == book_checksum(
        [["1000", "1"], ["100.5", "1"], ["100.49", "0.25"], ["100.48", "3"], ["99.99", "1"]],
        [["100.9", "1"]],
    )


def test_gateway_config_round_trips_through_toml(tmp_path: Path) -> None:
    doc = gateway_config(tmp_path, 10001, 10002, 10003, load_sessions=3)
    back = tomllib.loads(dump_toml(doc))
    assert back == doc
    assert back["journal"]["dir"] == str(tmp_path / "journal")
    assert back["fix"]["store_dir"] == str(tmp_path / "fix")
    assert back["fix"]["listen"] == "127.0.0.1:10001"
    names = [s["target_comp_id"] for s in back["fix"]["sessions"]]
    assert names[-3:] == ["LOAD1", "LOAD2", "LOAD3"]
    assert "CLIENT3" in names  # the demo sessions stay


def test_parse_metrics_and_sum_by_label() -> None:
    m = parse_metrics(
        "# HELP gw_ws_requests_total x\n"
        'gw_ws_requests_total{method="order.place",status="200"} 5\n'
        'gw_ws_requests_total{method="order.place",status="404"} 2\n'
        'gw_ws_requests_total{method="subscribe",status="200"} 1\n'
        "gw_fills_total 3\n"
    )
    assert metric_sum(m, "gw_ws_requests_total") == 8
    assert metric_sum(m, "gw_ws_requests_total", method="order.place") == 7
    assert metric_sum(m, "gw_ws_requests_total", status="200") == 6
    assert metric_sum(m, "gw_fills_total") == 3


def test_proc_roles_separate_subscribers_from_order_flow() -> None:
    md = RunConfig(scenario="md-fanout")
    assert proc_roles(md, 1) == ["all"]
    assert proc_roles(md, 2) == ["orders", "md"]
    assert proc_roles(md, 4) == ["orders", "md", "md", "md"]
    assert proc_roles(RunConfig(scenario="mixed", order_procs=2), 4) == [
        "orders",
        "orders",
        "md",
        "md",
    ]
    assert proc_roles(RunConfig(scenario="fix-orders"), 3) == ["all", "all", "all"]
