"""The admin API: operators run the venue live over signed HTTP under /admin/v1.

- server.py: the aiohttp component and the request pipeline (auth, roles, idempotency,
  problems, audit);
- routes/: the route table, one module per lane (routes/__init__.py: how to add one);
- signing.py: the signed-request scheme (shared with the CLI);
- problems.py, schema.py, openapi.py, audit.py: errors, body checks, the document, the log;
- cli.py: the ``venue-admin`` console script.
"""
