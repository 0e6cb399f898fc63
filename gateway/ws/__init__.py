"""WebSocket trading and market-data API (docs/WS_API.md)."""
