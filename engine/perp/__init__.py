"""Linear (quote-margined) perpetual swaps: instruments, index and mark, funding,
positions and margin, liquidation, insurance fund and auto-deleveraging.

- commands.py: the commands (journal codes 80-99) and the events they answer with;
- spec.py: an instrument's definition as integers (margin brackets);
- pricing.py: pure mark, premium and funding arithmetic;
- state.py: ``engine.perps`` (markets, positions), snapshotted and hashed;
- risk.py: the margin stage (pre-trade margin, fills into positions, funding, settings);
- liquidation.py: the liquidation ladder and the engine's own IOC orders;
- handlers.py: one deterministic handler per command, ``handler(engine, command)``;
- orders.py: reduce-only orders (clipped to the position, shrunk or expired with it).
"""

from __future__ import annotations

from engine.perp.commands import CODE_RANGE, PERP_COMMANDS, PerpCommand

__all__ = ["CODE_RANGE", "PERP_COMMANDS", "PerpCommand"]
