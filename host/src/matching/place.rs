//! Placing an order: check it, lock its funds, then match it (or park it until its
//! trigger).
//!
//! Funds locked at placement (in the asset the order pays with; fees are taken from the
//! asset received, so no fee margin is needed):
//!
//! * a sell locks its quantity of base;
//! * a buy with a limit price (LIMIT, LIMIT_MAKER, ICEBERG, *_LIMIT) locks price x quantity
//!   of quote; what a better execution price saves is released as it fills;
//! * a MARKET buy by `quote_quantity` locks that amount;
//! * a MARKET buy by `quantity` cannot know its cost, so it locks the buyer's whole
//!   available quote for the duration of its match (which ends within the command), pays
//!   each fill from it, stops (remainder EXPIRED) at the first lot it cannot pay for, and
//!   releases the rest. It is rejected if the available quote does not cover one lot at
//!   the best ask; a MARKET sell by `quote_quantity` likewise locks the available base;
//! * a STOP_LOSS, TAKE_PROFIT or TRAILING_STOP buy (market once fired) locks nothing
//!   while it waits and follows the market-buy rule when it fires (EXPIRED with no fill
//!   if the buyer cannot pay for one lot then).

use super::command::NewOrder;
use super::engine::{Engine, reject};
use super::event::Event;
use super::instrument::Pair;
use super::matcher::TakeEnd;
use super::reject::RejectReason;
use super::slab::{Location, NIL, Slot};
use super::stops::{direction, would_trigger};
use super::types::{OrderId, OrderStatus, OrderType, Side, TimeInForce};
use super::units::units_decimal;
use super::validate::{Spec, check_order};

impl Engine {
    /// Place an order; it gets the next order id even if it is rejected.
    pub(crate) fn place(&mut self, o: &NewOrder, out: &mut Vec<Event>) {
        let id = OrderId(self.next_order);
        self.next_order += 1;
        if let Err(reason) = self.try_place(o, id, out) {
            reject(out, Some(o.account), Some(id), reason);
        }
    }

    fn try_place(&mut self, o: &NewOrder, id: OrderId, out: &mut Vec<Event>) -> Result<(), RejectReason> {
        let p = self.pair_slot(o.pair).ok_or_else(|| RejectReason::UnknownPair { pair: o.pair.to_string() })?;
        // Borrowed, not copied: the pair is large and this runs on every placement.
        let (pair, last) = (&self.pairs[p].pair, self.pairs[p].last);
        let spec = check_order(pair, o, last)?;
        if o.order_type == OrderType::LimitMaker
            && let Some(best) = self.pairs[p].book.best_price(o.side.opposite())
            && (if o.side == Side::Buy { best <= spec.price } else { best >= spec.price })
        {
            return Err(RejectReason::WouldMatchAndTake { price: pair.price(spec.price), best: pair.price(best) });
        }
        if let Some(dir) = direction(o.side, o.order_type)
            && would_trigger(dir, spec.stop, last)
        {
            return Err(RejectReason::WouldTriggerImmediately {
                stop_price: pair.price(spec.stop),
                last_price: pair.price(last),
            });
        }
        let (acct, locked) = self.lock_for(p, o, &spec)?;
        let slot = self.slab.alloc(Slot {
            id,
            account: o.account,
            acct,
            pair: p as u32,
            side: o.side,
            order_type: o.order_type,
            tif: o.time_in_force,
            stp: o.stp,
            status: OrderStatus::New,
            at: Location::Taking,
            price: spec.price,
            stop: spec.stop,
            qty: spec.qty,
            filled: 0,
            visible: 0,
            slice: spec.slice,
            quote_budget: spec.budget,
            filled_notional: 0,
            locked,
            trail: spec.trail,
            time_ms: o.time_ms,
            expire_ms: spec.expire_ms,
            prev: NIL,
            next: NIL,
            level: NIL,
        });
        if o.order_type.is_conditional() {
            self.park(p, slot, out);
        } else {
            self.run_taker(p, slot, out);
            self.run_triggers(p, out);
        }
        Ok(())
    }

    /// Lock what the order may pay; returns (wallet account index, units locked).
    fn lock_for(&mut self, p: usize, o: &NewOrder, spec: &Spec) -> Result<(u32, i128), RejectReason> {
        if !self.cfg.check_funds {
            return Ok((self.wallets.ensure(o.account), 0));
        }
        let pair: &Pair = &self.pairs[p].pair;
        let (asset, needed) = match o.side {
            Side::Sell if spec.budget > 0 => (pair.base_asset, None),
            Side::Sell => (pair.base_asset, Some(i128::from(spec.qty) * pair.base_per_lot)),
            Side::Buy if spec.price > 0 => {
                (pair.quote_asset, Some(pair.notional(spec.price, spec.qty) * pair.quote_factor))
            }
            Side::Buy if spec.budget > 0 => (pair.quote_asset, Some(spec.budget * pair.quote_factor)),
            Side::Buy if o.order_type.is_conditional() => (pair.quote_asset, Some(0)),
            Side::Buy => (pair.quote_asset, None),
        };
        let acct = self.wallets.account(o.account);
        let available = acct.map(|a| self.wallets.available(a, asset)).unwrap_or(0);
        let short =
            |needed: i128, available: i128, wallets: &super::wallet::Wallets| RejectReason::InsufficientBalance {
                asset: wallets.asset_name(asset).to_string(),
                needed: units_decimal(needed),
                available: units_decimal(available),
            };
        let amount = match needed {
            Some(n) if n > available => return Err(short(n, available, &self.wallets)),
            Some(n) => n,
            None => {
                // Market by quantity (buy) or by quote (sell): the whole available balance,
                // provided it covers one lot at the best opposite price.
                let one_lot = match (o.side, self.pairs[p].book.best_price(o.side.opposite())) {
                    (_, None) => 0,
                    (Side::Buy, Some(best)) => pair.notional_per_lot(best) * pair.quote_factor,
                    (Side::Sell, Some(_)) => pair.base_per_lot,
                };
                if one_lot > available {
                    return Err(short(one_lot, available, &self.wallets));
                }
                available.max(0)
            }
        };
        let Some(acct) = acct else {
            // Nothing needed (and nothing held): the account starts trading with no funds.
            return Ok((self.wallets.ensure(o.account), 0));
        };
        if self.wallets.lock(acct, asset, amount).is_err() {
            return Err(short(amount, available, &self.wallets));
        }
        Ok((acct, amount))
    }

    /// Match taker `t` and finish it: rest the remainder (limit orders that may rest),
    /// or end it FILLED / EXPIRED / EXPIRED_IN_MATCH.
    pub(crate) fn run_taker(&mut self, p: usize, t: u32, out: &mut Vec<Event>) {
        let (has_limit, tif) = (self.slab[t].price > 0, self.slab[t].tif);
        let now = self.now_ms;
        if has_limit && tif == TimeInForce::Fok && !self.fok_fillable(p, t) {
            return self.close(t, OrderStatus::Expired, now, out);
        }
        let end = self.take(p, t, out);
        let status = match end {
            TakeEnd::SelfTrade => OrderStatus::ExpiredInMatch,
            TakeEnd::Done if self.slab[t].filled > 0 => OrderStatus::Filled,
            TakeEnd::Done => OrderStatus::Expired,
            TakeEnd::NoLiquidity | TakeEnd::Unaffordable if has_limit && tif.rests() => {
                return self.rest(p, t, out);
            }
            TakeEnd::NoLiquidity | TakeEnd::Unaffordable => OrderStatus::Expired,
        };
        self.close(t, status, now, out);
    }
}
