"""venue-admin: the admin API from a shell, for scripts and runbooks.

One subcommand per route of the route table (``venue-admin --help`` lists them): path
parameters are positional arguments, body fields are ``--options`` (booleans take
true/false, objects and arrays JSON), query parameters of a GET ``--query KEY=VALUE``.
Requests are signed with the operator's Ed25519 private seed, read from ``--key-file``
(64 hex digits). A mutation gets a fresh
Idempotency-Key unless ``--idempotency-key`` is given; the key used is printed on
stderr, so a runbook step that timed out can be retried with the same key safely.

The answer's JSON goes to stdout; a streamed report (``statement``, ``blotter``,
``fee-revenue``, ``regulator-export``: ``--query format=csv|json|jsonl``) is copied to
stdout as it arrives. Exit status: 0 for a 2xx answer, 1 for a problem
(the problem document is the output), 2 for a usage, key file or connection error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import stat
import sys
import uuid
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from gateway.admin.openapi import operation_id
from gateway.admin.routes import Route, all_routes
from gateway.admin.server import PREFIX
from gateway.admin.signing import sign_request

__all__ = ["main"]

_TRUE = {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}


def _boolean(text: str) -> bool:
    try:
        return _TRUE[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}") from None


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


_ARG_TYPES: dict[str, Any] = {
    "boolean": _boolean,
    "integer": int,
    "object": _json_value,
    "array": _json_value,
}


#: the runbook verbs of the issue, for routes whose lane gave no ``cli`` name
RUNBOOK: dict[tuple[str, str], str] = {
    ("POST", "/api-keys"): "issue-key",
}


def command_name(route: Route) -> str:
    """The route's subcommand: its ``cli`` name, a runbook verb, or method and path."""
    return (
        route.cli
        or RUNBOOK.get((route.method, route.path))
        or operation_id(route).replace("_", "-")
    )


def _parser(routes: list[Route]) -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="venue-admin",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Environment: VENUE_ADMIN_URL, VENUE_ADMIN_OPERATOR, VENUE_ADMIN_KEY_FILE.",
    )
    parser.add_argument("--url", default=env("VENUE_ADMIN_URL", "http://127.0.0.1:8081"))
    parser.add_argument("--operator", default=env("VENUE_ADMIN_OPERATOR"))
    parser.add_argument("--key-file", default=env("VENUE_ADMIN_KEY_FILE"))
    parser.add_argument("--idempotency-key", help="for a mutation (default: a new UUID)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait on the gateway (30)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for route in routes:
        cmd = sub.add_parser(
            command_name(route), help=f"{route.summary} ({route.method} {route.path})"
        )
        for name in re.findall(r"{(\w+)}", route.path):
            cmd.add_argument(f"path_{name}", metavar=name)
        schema = route.request or {}
        required = set(schema.get("required", []))
        for name, spec in schema.get("properties", {}).items():
            cmd.add_argument(
                "--" + name.replace("_", "-"),
                dest=f"body_{name}",
                metavar=name.upper(),
                type=_ARG_TYPES.get(spec.get("type", "string"), str),
                required=name in required,
                help=spec.get("description"),
            )
        if not route.mutation:
            cmd.add_argument(
                "--query", action="append", default=[], metavar="KEY=VALUE",
                help="a query parameter (repeatable)",
            )  # fmt: skip
        cmd.set_defaults(route=route)
    return parser


def _read_seed(path: str) -> str:
    """The hex seed in path; warns when others may read the file (as ssh does)."""
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"venue-admin: warning: {path} is readable by others", file=sys.stderr)
    with open(path, encoding="ascii") as fh:
        seed = fh.read().strip()
    if not re.fullmatch(r"[0-9a-fA-F]{64}", seed):
        raise ValueError(f"{path}: expected an Ed25519 private seed, 64 hex digits")
    return seed.lower()


def _copy(response: http.client.HTTPResponse) -> int:
    """A streamed answer (a report) to stdout as it comes, never whole in memory; a
    transfer cut short is an error (exit 2), not a short file."""
    try:
        while chunk := response.read1(1 << 16):
            sys.stdout.buffer.write(chunk)
    except http.client.IncompleteRead:
        print("venue-admin: the answer was cut short", file=sys.stderr)
        return 2
    sys.stdout.buffer.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    routes = all_routes()
    parser = _parser(routes)
    args = parser.parse_args(argv)
    route: Route = args.route
    if not args.operator or not args.key_file:
        parser.error("--operator and --key-file (or VENUE_ADMIN_*) are required")
    try:
        seed = _read_seed(args.key_file)
    except (OSError, ValueError) as exc:
        print(f"venue-admin: {exc}", file=sys.stderr)
        return 2
    path = PREFIX + re.sub(
        r"{(\w+)}", lambda m: quote(getattr(args, "path_" + m.group(1)), safe=""), route.path
    )
    query = getattr(args, "query", [])
    if any("=" not in item for item in query):
        parser.error("--query takes KEY=VALUE")
    if query:
        path += "?" + urlencode([tuple(item.split("=", 1)) for item in query])
    fields = {
        key[5:]: value
        for key, value in vars(args).items()
        if key.startswith("body_") and value is not None
    }
    body = json.dumps(fields).encode() if route.request is not None else b""
    url = urlsplit(args.url)
    base = url.path.rstrip("/")
    headers = sign_request(seed, args.operator, route.method, base + path, body)
    if body:
        headers["Content-Type"] = "application/json"
    if route.mutation:
        key = args.idempotency_key or str(uuid.uuid4())
        headers["Idempotency-Key"] = key
        print(f"idempotency-key: {key}", file=sys.stderr)
    connection_type = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    try:
        connection = connection_type(url.netloc, timeout=args.timeout)
        connection.request(route.method, base + path, body=body, headers=headers)
        response = connection.getresponse()
        if route.media and 200 <= response.status < 300:
            return _copy(response)
        data = response.read()
    except OSError as exc:
        print(f"venue-admin: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(json.loads(data), indent=2))
    except ValueError:
        print(data.decode(errors="replace"))
    return 0 if 200 <= response.status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
