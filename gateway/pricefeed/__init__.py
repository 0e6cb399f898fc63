"""The price feeder: each perpetual's index price from external venues, submitted to
the venue as journaled ``SetIndexPrice`` commands through the signed admin API.

A process of its own (``python -m gateway.pricefeed``): adapters (sources.py) keep
each venue's last price, the rules (index.py: weighted median, staleness, deviation,
quorum) turn them into an index every round (feeder.py), and admin_client.py signs and
sends it. docs/PRICE_FEED.md describes the config and the rules.
"""
