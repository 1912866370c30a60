//! Taking liquidity: an incoming order walks the opposite side best level first, oldest
//! order first, applying self-trade prevention, and each execution settles both wallets
//! (fees included) at once.

use super::engine::Engine;
use super::event::{Event, Trade};
use super::slab::{Location, NIL};
use super::types::{OrderStatus, Side, StpMode, TradeId};
use super::units::floor_div;

/// Why a taker stopped matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeEnd {
    /// Its quantity (or quote budget) is used up.
    Done,
    /// No more resting liquidity within its limit.
    NoLiquidity,
    /// Its locked funds cannot pay for another lot (market buy by base quantity).
    Unaffordable,
    /// Self-trade prevention expired the taker.
    SelfTrade,
}

#[inline]
fn crosses(side: Side, limit: i64, price: i64) -> bool {
    limit == 0
        || match side {
            Side::Buy => price <= limit,
            Side::Sell => price >= limit,
        }
}

impl Engine {
    /// Match the order in slot `t` (not on the book) against pair `p`.
    pub(crate) fn take(&mut self, p: usize, t: u32, out: &mut Vec<Event>) -> TakeEnd {
        let (side, limit, acct, stp) = {
            let s = &self.slab[t];
            (s.side, s.price, s.acct, s.stp)
        };
        let opp = side.opposite();
        loop {
            let (remaining, budget_left, locked) = {
                let s = &self.slab[t];
                (s.remaining(), s.quote_budget - s.filled_notional, s.locked)
            };
            let by_quote = self.slab[t].quote_budget > 0;
            if !by_quote && remaining == 0 {
                return TakeEnd::Done;
            }
            let book = &self.pairs[p].book;
            let Some(l) = book.best(opp) else { return TakeEnd::NoLiquidity };
            let level = book.level(l);
            let price = level.price;
            if !crosses(side, limit, price) {
                return TakeEnd::NoLiquidity;
            }
            let m = level.head;
            if stp != StpMode::None && self.slab[m].acct == acct {
                self.expire_maker_if(p, m, stp, out);
                if stp != StpMode::ExpireMaker {
                    return TakeEnd::SelfTrade;
                }
                continue;
            }
            let pair = &self.pairs[p].pair;
            let mut q = self.slab[m].visible;
            if !by_quote {
                q = q.min(remaining);
            } else {
                q = q.min(i64::try_from(floor_div(budget_left, pair.notional_per_lot(price))).unwrap_or(i64::MAX));
                if q == 0 {
                    return TakeEnd::Done;
                }
            }
            if self.cfg.check_funds && limit == 0 {
                // Market-type orders may hold less than their quantity needs (see `place`).
                let per_lot = match side {
                    Side::Buy => pair.notional_per_lot(price) * pair.quote_factor,
                    Side::Sell => pair.base_per_lot,
                };
                // A market order usually holds its whole balance: divide (128-bit, slow)
                // only when `q` lots are not plainly affordable.
                if i128::from(q) * per_lot > locked {
                    q = q.min(i64::try_from(floor_div(locked, per_lot)).unwrap_or(i64::MAX));
                }
                if q == 0 {
                    return TakeEnd::Unaffordable;
                }
            }
            self.execute_fill(p, t, m, price, q, out);
        }
    }

    /// STP met a resting order of the taker's own account: expire it if the mode says so.
    fn expire_maker_if(&mut self, p: usize, m: u32, stp: StpMode, out: &mut Vec<Event>) {
        if matches!(stp, StpMode::ExpireMaker | StpMode::ExpireBoth) {
            self.pairs[p].book.unlink(&mut self.slab, m);
            let time = self.now_ms;
            self.close(m, OrderStatus::ExpiredInMatch, time, out);
        }
    }

    /// One execution of `q` lots at `price` between taker `t` and maker `m`.
    fn execute_fill(&mut self, p: usize, t: u32, m: u32, price: i64, q: i64, out: &mut Vec<Event>) {
        let pair = self.pairs[p].pair;
        let notional = pair.notional(price, q);
        let quote_units = notional * pair.quote_factor;
        let base_units = i128::from(q) * pair.base_per_lot;
        let (base, quote) = (pair.base_asset, pair.quote_asset);
        let taker_side = self.slab[t].side;
        let (buyer, seller) = if taker_side == Side::Buy { (t, m) } else { (m, t) };
        let (mut buyer_fee, mut seller_fee) = (Default::default(), Default::default());
        if self.cfg.check_funds {
            let buyer_is_maker = buyer == m;
            let (ba, sa) = (self.slab[buyer].acct, self.slab[seller].acct);
            // Per-account schedules are rare: skip the lookups when there are none.
            let (bfees, sfees) = match self.account_fees.is_empty() {
                true => (&self.fees, &self.fees),
                false => {
                    (self.account_fees.get(&ba).unwrap_or(&self.fees), self.account_fees.get(&sa).unwrap_or(&self.fees))
                }
            };
            let (bf_units, bf) = bfees.fee(base_units, buyer_is_maker);
            let (sf_units, sf) = sfees.fee(quote_units, !buyer_is_maker);
            self.wallets.spend_locked(ba, quote, quote_units);
            self.wallets.spend_locked(sa, base, base_units);
            self.wallets.credit(ba, base, base_units - bf_units);
            self.wallets.credit(sa, quote, quote_units - sf_units);
            self.wallets.credit(self.fee_acct, base, bf_units);
            self.wallets.credit(self.fee_acct, quote, sf_units);
            self.slab[buyer].locked -= quote_units;
            self.slab[seller].locked -= base_units;
            // A limit buy locked its limit price: release what the better price saved.
            let bl = self.slab[buyer].price;
            if bl > price {
                let saved = pair.notional(bl - price, q) * pair.quote_factor;
                self.slab[buyer].locked -= saved;
                self.wallets.unlock(ba, quote, saved);
            }
            (buyer_fee, seller_fee) = (bf, sf);
        }
        for s in [t, m] {
            let s = &mut self.slab[s];
            s.filled += q;
            s.filled_notional += notional;
        }
        self.slab[m].visible -= q;
        let maker_level = self.slab[m].level;
        self.pairs[p].book.executed(maker_level, q);
        let (maker_fee, taker_fee) = if buyer == m { (buyer_fee, seller_fee) } else { (seller_fee, buyer_fee) };
        let trade = Trade {
            trade_id: TradeId(self.next_trade),
            pair: pair.id,
            price: pair.price(price),
            qty: pair.qty(q),
            quote_qty: pair.notional_decimal(notional),
            taker_side,
            maker_order: self.slab[m].id,
            taker_order: self.slab[t].id,
            maker_account: self.slab[m].account,
            taker_account: self.slab[t].account,
            maker_fee,
            taker_fee,
            time_ms: self.now_ms,
        };
        self.next_trade += 1;
        self.record_trade(trade, out);
        if self.tape.last() != Some(&price) {
            self.tape.push(price);
        }
        self.after_maker_fill(p, m, out);
    }

    /// The maker executed: refill an iceberg, finish a filled order, or report progress.
    fn after_maker_fill(&mut self, p: usize, m: u32, out: &mut Vec<Event>) {
        let s = &self.slab[m];
        let time = self.now_ms;
        if s.visible > 0 {
            self.report(m, OrderStatus::PartiallyFilled, time, out);
            return;
        }
        let remaining = s.remaining();
        if remaining == 0 {
            self.pairs[p].book.unlink(&mut self.slab, m);
            self.close(m, OrderStatus::Filled, time, out);
            return;
        }
        let refill = remaining.min(s.slice);
        self.slab[m].visible = refill;
        self.pairs[p].book.requeue(&mut self.slab, m, refill);
        self.report(m, OrderStatus::PartiallyFilled, time, out);
    }

    /// Whether a FOK taker can be filled completely right now (self-trade prevention
    /// counted: orders it would expire do not count, a stop ends the count).
    pub(crate) fn fok_fillable(&self, p: usize, t: u32) -> bool {
        let s = &self.slab[t];
        let (side, limit, acct, stp, mut need) = (s.side, s.price, s.acct, s.stp, s.remaining());
        let book = &self.pairs[p].book;
        for level in book.levels(side.opposite()) {
            if !crosses(side, limit, level.price) {
                return false;
            }
            if stp == StpMode::None {
                need -= level.visible + level.hidden;
            } else {
                let mut i = level.head;
                while i != NIL {
                    let o = &self.slab[i];
                    if o.acct == acct {
                        if stp != StpMode::ExpireMaker {
                            return false;
                        }
                    } else {
                        need -= o.remaining();
                    }
                    if need <= 0 {
                        return true;
                    }
                    i = o.next;
                }
            }
            if need <= 0 {
                return true;
            }
        }
        false
    }

    /// Put the unfilled rest of taker `t` on the book.
    pub(crate) fn rest(&mut self, p: usize, t: u32, out: &mut Vec<Event>) {
        let s = &mut self.slab[t];
        s.at = Location::Resting;
        s.visible = if s.slice > 0 { s.slice.min(s.remaining()) } else { s.remaining() };
        let status = if s.filled > 0 { OrderStatus::PartiallyFilled } else { OrderStatus::New };
        let expire = s.expire_ms;
        self.slab.index(t);
        self.pairs[p].book.push_back(&mut self.slab, t);
        if expire != i64::MAX {
            self.schedule_expiry(t);
        }
        let time = self.now_ms;
        self.report(t, status, time, out);
    }
}
