"""The operations console: a browser UI served by the admin listener at /console.

- static/: the page, its script and style, shipped in the package (no build step);
- feed.py: the live event stream (server-sent events over a signed GET) and the page's
  routes on the admin application;
- views.py: the JSON views the stream pushes.

Every action of the page is a signed admin API request, made in the browser with the
operator's own Ed25519 key (WebCrypto): the same roles, audit and idempotency as the
``venue-admin`` CLI. docs/CONSOLE.md is the operator's guide.
"""
