"""The read side: a journal follower process that replays the journal through its own
Engine and writes the history (orders, fills, ledger, venue events) to a SQL store.

See docs/READ_SIDE.md. Nothing here may import gateway state (host, edges): the
follower runs in its own process and is the seed of a hot standby.
"""
