"""Fixtures of the follower tests. The PostgreSQL cluster and the per-backend store
(``pg_cluster``, ``backend``, ``store_url``) are in tests/conftest.py: the edges that
read the store (REST, WS, admin) test both backends too."""
