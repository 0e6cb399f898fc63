"""HTTP surface: health, readiness, Prometheus metrics, public market-data snapshots."""
