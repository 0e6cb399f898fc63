"""Stage 3: settlement. Applies each fill matching produces to balances and fees.

Matching (stage 2) moves the orders and the book and hands every fill here, through
:meth:`Settlement.fill`; this stage is the one place a fill changes money:
- the buyer pays notional + fee in quote out of its hold, the seller delivers base out
  of its hold and receives notional - fee; a limit buy's remaining hold is recomputed
  for its remaining quantity (the hold proof in engine/risk.py's docstring);
- the venue's fee part goes to the fee revenue account (or engine.fees per asset while
  no fee schedule is set), so every asset's total supply is conserved;
- the Trade event carries both fees and both orders' fill state.

State kept here: the accounts (the engine shares the dict), the balances changed by
the command being applied (``dirty``, reported as BalanceChanged), the trade id
counter and where fees go. Tenant markups and maker rebates need the venue's fee
tables, so they come through :meth:`split_fees`, which the engine provides.
"""

from __future__ import annotations

from typing import Final

from engine.book import Listing, Order
from engine.events import Trade
from engine.matching import MatchHost
from engine.model import OrdType, Side
from engine.risk import PPM, Account, Balance

__all__ = ["Settlement"]

_BUY: Final = int(Side.BUY)
_LIMIT: Final = int(OrdType.LIMIT)


class Settlement(MatchHost):
    """Balances and fees: matching's fills end here. The engine derives from it."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, Account] = {}
        self.dirty: dict[tuple[str, str], Balance] = {}
        self.trade_id = 0
        self.fees: dict[str, int] = {}
        # Bound by engine.venue.fees: where the venue's fee part goes (None = self.fees)
        # and the quote asset whose fills count toward fee tiers.
        self.fee_revenue: Account | None = None
        self.fee_volume_asset = ""

    def split_fees(
        self, quote: str, notional: int, maker: Account, taker: Account
    ) -> tuple[int, int, int]:
        """(maker fee, taker fee, venue part) when a markup or a rebate is involved."""
        raise NotImplementedError

    def budget_lots(self, taker: Order, unit: int) -> int:
        # Largest qty whose cost, notional + floor(notional * fee), fits the hold:
        # cost = floor(qty*unit*(PPM+fee)/PPM) <= hold
        # <=> qty*unit*(PPM+fee) <= (hold+1)*PPM - 1.
        fee_ppm = self.accounts[taker.account].taker_fee_ppm
        return ((taker.hold + 1) * PPM - 1) // (unit * (PPM + fee_ppm))

    def perp_fill(
        self,
        listing: Listing,
        taker: Order,
        maker: Order,
        qty: int,
        notional: int,
        maker_fee: int,
        taker_fee: int,
        venue_fee: int,
    ) -> tuple[int, int]:
        """Settle a perpetual's fill (engine/perp/risk.py); returns (taker fee, venue
        fee), which the engine's liquidation orders do not pay."""
        raise NotImplementedError

    def fill(
        self, listing: Listing, taker: Order, maker: Order, price: int, qty: int, notional: int
    ) -> None:
        """Settle both accounts of one fill and emit its Trade."""
        inst = listing.instrument
        base_units = qty * inst.base_per_lot
        maker_acct = self.accounts[maker.account]
        taker_acct = self.accounts[taker.account]
        maker_fee = notional * maker_acct.maker_fee_ppm // PPM
        taker_fee = notional * taker_acct.taker_fee_ppm // PPM
        if maker_fee < 0 or maker_acct.markup_ppm or taker_acct.markup_ppm:
            maker_fee, taker_fee, venue_fee = self.split_fees(
                inst.quote, notional, maker_acct, taker_acct
            )
        else:
            venue_fee = maker_fee + taker_fee

        quote = inst.quote
        if listing.perp:  # margin and positions instead of an exchange of assets
            taker_fee, venue_fee = self.perp_fill(
                listing, taker, maker, qty, notional, maker_fee, taker_fee, venue_fee
            )
        else:
            if taker.side == _BUY:
                buy_order, buyer, buyer_fee, sell_order, seller, seller_fee = (
                    taker,
                    taker_acct,
                    taker_fee,
                    maker,
                    maker_acct,
                    maker_fee,
                )
            else:
                buy_order, buyer, buyer_fee, sell_order, seller, seller_fee = (
                    maker,
                    maker_acct,
                    maker_fee,
                    taker,
                    taker_acct,
                    taker_fee,
                )
            base = inst.base
            dirty = self.dirty

            cost = notional + buyer_fee
            old_hold = buy_order.hold
            if buy_order.ord_type == _LIMIT:
                new_hold = buyer.buy_hold(
                    buy_order.price * buy_order.leaves * inst.quote_per_tick_lot
                )
            else:
                new_hold = old_hold - cost
            buy_order.hold = new_hold
            bal = buyer.balances[quote]
            bal.total -= cost
            bal.held -= old_hold - new_hold
            dirty[(buyer.account_id, quote)] = bal
            bal = buyer.balance(base)
            bal.total += base_units
            dirty[(buyer.account_id, base)] = bal

            sell_order.hold -= base_units
            bal = seller.balances[base]
            bal.total -= base_units
            bal.held -= base_units
            dirty[(seller.account_id, base)] = bal
            bal = seller.balance(quote)
            bal.total += notional - seller_fee
            dirty[(seller.account_id, quote)] = bal
        dirty = self.dirty
        revenue = self.fee_revenue
        if revenue is None:
            self.fees[quote] = self.fees.get(quote, 0) + venue_fee
        elif venue_fee:
            bal = revenue.balance(quote)
            bal.total += venue_fee
            dirty[(revenue.account_id, quote)] = bal
        if quote == self.fee_volume_asset:
            maker_acct.fee_volume += notional
            taker_acct.fee_volume += notional

        self.trade_id += 1
        out = self.out
        out.append(
            Trade(
                self.seq,
                self.ts_us,
                len(out),
                listing.book.symbol,
                listing.book.md_seq,
                self.trade_id,
                price,
                qty,
                taker.side,
                maker.order_id,
                maker.account,
                maker.client_order_id,
                maker_fee,
                maker.filled,
                maker.notional,
                maker.leaves,
                taker.order_id,
                taker.account,
                taker.client_order_id,
                taker_fee,
                taker.filled,
                taker.notional,
                taker.leaves,
            )
        )
