"""Load-test harness: FIX 4.4 and WebSocket load, HdrHistogram latency, reports.

Run ``python -m loadtest --help``.  Modules: histogram (latency recording), pacing
(closed/open loop), fix_client / ws_client (protocol clients), null_acceptor
(--self-test targets), scenarios, progress, report, cli.
"""
