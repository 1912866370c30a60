//! Read accessors: orders, books, wallets, trades and pairs, in decimals.

use super::command::PairConfig;
use super::engine::Engine;
use super::event::Trade;
use super::slab::{Location, Slot};
use super::types::{AccountId, OrderId, OrderStatus, OrderType, PairId, Side, StpMode, TimeInForce};
use super::units::{AMOUNT_SCALE, units_decimal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An order's full state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    /// The id.
    pub id: OrderId,
    /// The owner.
    pub account: AccountId,
    /// The pair.
    pub pair: PairId,
    /// Buy or sell.
    pub side: Side,
    /// Type as placed.
    pub order_type: OrderType,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Self-trade prevention mode.
    pub stp: StpMode,
    /// Current status.
    pub status: OrderStatus,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Stop (trigger) price.
    pub stop_price: Option<Decimal>,
    /// Base quantity (`None` for a market order by quote quantity).
    pub quantity: Option<Decimal>,
    /// Quote budget of a market order by quote quantity.
    pub quote_quantity: Option<Decimal>,
    /// Iceberg slice.
    pub iceberg_qty: Option<Decimal>,
    /// Trailing delta, bps.
    pub trailing_delta_bps: Option<u32>,
    /// Trailing activation price.
    pub activation_price: Option<Decimal>,
    /// Base executed.
    pub filled_qty: Decimal,
    /// Quote executed.
    pub filled_quote: Decimal,
    /// filled_quote / filled_qty.
    pub average_price: Option<Decimal>,
    /// Shown on the book now (iceberg slice, or the whole remainder).
    pub visible_qty: Decimal,
    /// Whether it waits for its trigger.
    pub waiting_for_trigger: bool,
    /// Funds still locked for it, in the asset it pays with.
    pub locked: Decimal,
    /// Event time of placement.
    pub time_ms: i64,
    /// DAY/GTD expiry.
    pub expire_ms: Option<i64>,
}

/// One aggregated book level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepthLevel {
    /// Price.
    pub price: Decimal,
    /// Visible quantity (iceberg reserves are not shown).
    pub qty: Decimal,
    /// Orders at the level.
    pub orders: u32,
}

/// Top of a pair's book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    /// The pair.
    pub pair: PairId,
    /// Best (highest) first.
    pub bids: Vec<DepthLevel>,
    /// Best (lowest) first.
    pub asks: Vec<DepthLevel>,
    /// Last traded price.
    pub last_price: Option<Decimal>,
}

/// One asset of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceView {
    /// Asset name.
    pub asset: String,
    /// Total held.
    pub balance: Decimal,
    /// Balance minus locked.
    pub available: Decimal,
    /// Held for open orders.
    pub locked: Decimal,
}

/// A listed pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairView {
    /// The id.
    pub id: PairId,
    /// Exchange-style name, e.g. `BTCUSD`.
    pub symbol: String,
    /// Base asset.
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// Filters as listed.
    pub config: PairConfig,
    /// Last traded price.
    pub last_price: Option<Decimal>,
}

/// Per asset: everything held by all accounts (fee account included) against net
/// deposits. They are equal unless funds were created or destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supply {
    /// Asset name.
    pub asset: String,
    /// Sum of all accounts' balances (fee account included).
    pub held: Decimal,
    /// Deposits minus withdrawals.
    pub net_deposits: Decimal,
}

impl Engine {
    fn order_view(&self, s: &Slot) -> OrderView {
        let pair = &self.pairs[s.pair as usize].pair;
        let price = |t: i64| (t > 0).then(|| pair.price(t));
        let filled_qty = pair.qty(s.filled);
        let filled_quote = pair.notional_decimal(s.filled_notional);
        OrderView {
            id: s.id,
            account: s.account,
            pair: pair.id,
            side: s.side,
            order_type: s.order_type,
            time_in_force: s.tif,
            stp: s.stp,
            status: s.status,
            price: price(s.price),
            stop_price: price(s.stop),
            quantity: (s.qty > 0).then(|| pair.qty(s.qty)),
            quote_quantity: (s.quote_budget > 0).then(|| pair.notional_decimal(s.quote_budget)),
            iceberg_qty: (s.slice > 0).then(|| pair.qty(s.slice)),
            trailing_delta_bps: (s.order_type == OrderType::TrailingStop).then_some(s.trail.delta_bps),
            activation_price: price(s.trail.activation),
            filled_qty,
            filled_quote,
            average_price: (s.filled > 0)
                .then(|| (filled_quote / filled_qty).round_dp(pair.tick.scale + 8).normalize()),
            visible_qty: pair.qty(s.visible),
            waiting_for_trigger: s.at == Location::Pending && s.status.is_open(),
            locked: units_decimal(s.locked),
            time_ms: s.time_ms,
            expire_ms: (s.expire_ms != i64::MAX).then_some(s.expire_ms),
        }
    }

    /// An order by id: open, or among the last `closed_orders_kept` closed ones.
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        if let Some(slot) = self.slab.find(id) {
            return Some(self.order_view(&self.slab[slot]));
        }
        self.closed.iter().rev().find(|s| s.id == id).map(|s| self.order_view(s))
    }

    /// Open orders (resting or waiting), optionally of one account and/or pair, by id.
    pub fn open_orders(&self, account: Option<AccountId>, pair: Option<PairId>) -> Vec<OrderView> {
        self.slab
            .open()
            .into_iter()
            .filter(|s| account.is_none_or(|a| s.account == a) && pair.is_none_or(|p| s.pair == p.0))
            .map(|s| self.order_view(s))
            .collect()
    }

    /// Closed orders still kept (the last `closed_orders_kept`), optionally of one account
    /// and/or pair, oldest first.
    pub fn closed_orders(&self, account: Option<AccountId>, pair: Option<PairId>) -> Vec<OrderView> {
        self.closed
            .iter()
            .filter(|s| account.is_none_or(|a| s.account == a) && pair.is_none_or(|p| s.pair == p.0))
            .map(|s| self.order_view(s))
            .collect()
    }

    /// The id the next placed order will get.
    pub fn next_order_id(&self) -> OrderId {
        OrderId(self.next_order)
    }

    /// A pair id from `BTC/USD` or `BTCUSD` spellings.
    pub fn pair_id(&self, symbol: &str) -> Option<PairId> {
        let info = crate::market_data::SymbolInfo::parse(symbol)?;
        self.pair_index.get(&info.name).copied()
    }

    /// A listed pair.
    pub fn pair(&self, pair: PairId) -> Option<PairView> {
        let ps = &self.pairs[self.pair_slot(pair)?];
        Some(PairView {
            id: pair,
            symbol: ps.info.name.clone(),
            base: ps.info.base.clone(),
            quote: ps.info.quote.clone(),
            config: ps.config.clone(),
            last_price: (ps.last > 0).then(|| ps.pair.price(ps.last)),
        })
    }

    /// Every listed pair, by id.
    pub fn pairs(&self) -> Vec<PairView> {
        (0..self.pairs.len() as u32).filter_map(|i| self.pair(PairId(i))).collect()
    }

    /// The last traded price (own trades and market trades).
    pub fn last_price(&self, pair: PairId) -> Option<Decimal> {
        let ps = &self.pairs[self.pair_slot(pair)?];
        (ps.last > 0).then(|| ps.pair.price(ps.last))
    }

    /// Best bid and best ask.
    pub fn best_bid_ask(&self, pair: PairId) -> Option<(Option<Decimal>, Option<Decimal>)> {
        let ps = &self.pairs[self.pair_slot(pair)?];
        let best = |side| ps.book.best_price(side).map(|t| ps.pair.price(t));
        Some((best(Side::Buy), best(Side::Sell)))
    }

    /// The top `levels` levels of each side, aggregated.
    pub fn depth(&self, pair: PairId, levels: usize) -> Option<Depth> {
        let ps = &self.pairs[self.pair_slot(pair)?];
        let side = |side| {
            ps.book
                .levels(side)
                .take(levels)
                .map(|l| DepthLevel { price: ps.pair.price(l.price), qty: ps.pair.qty(l.visible), orders: l.orders })
                .collect()
        };
        Some(Depth {
            pair,
            bids: side(Side::Buy),
            asks: side(Side::Sell),
            last_price: (ps.last > 0).then(|| ps.pair.price(ps.last)),
        })
    }

    /// An account's non-zero balances.
    pub fn balances(&self, account: AccountId) -> Vec<BalanceView> {
        let Some(acct) = self.wallets.account(account) else { return Vec::new() };
        self.wallets
            .balances(acct)
            .into_iter()
            .map(|(a, b)| BalanceView {
                asset: self.wallets.asset_name(a).to_string(),
                balance: units_decimal(b.total),
                available: units_decimal(b.total - b.locked),
                locked: units_decimal(b.locked),
            })
            .collect()
    }

    /// One balance (zeros for an asset the account never held).
    pub fn balance(&self, account: AccountId, asset: &str) -> Option<BalanceView> {
        let a = self.wallets.asset_id(asset)?;
        let b = self.wallets.account(account).map(|acct| self.wallets.get(acct, a)).unwrap_or_default();
        Some(BalanceView {
            asset: self.wallets.asset_name(a).to_string(),
            balance: units_decimal(b.total),
            available: units_decimal(b.total - b.locked),
            locked: units_decimal(b.locked),
        })
    }

    /// Every account that ever held funds or traded, in creation order.
    pub fn accounts(&self) -> Vec<AccountId> {
        self.wallets.account_ids().collect()
    }

    /// The account fees are credited to.
    pub fn fee_account(&self) -> AccountId {
        self.cfg.fees.fee_account
    }

    /// Recent trades, newest first, optionally of one pair.
    pub fn recent_trades(&self, pair: Option<PairId>, limit: usize) -> Vec<Trade> {
        self.trades.iter().rev().filter(|t| pair.is_none_or(|p| t.pair == p)).take(limit).copied().collect()
    }

    /// Per asset: held by all accounts against net deposits.
    pub fn supply(&self) -> Vec<Supply> {
        let held = self.wallets.totals();
        let net = self.wallets.net_deposits();
        (0..held.len())
            .map(|a| Supply {
                asset: self.wallets.asset_name(a as u32).to_string(),
                held: units_decimal(held[a]),
                net_deposits: units_decimal(net[a]),
            })
            .collect()
    }

    /// Whether every asset's holdings equal its net deposits, and no balance or lock
    /// is negative or exceeds its total (checked in exact units).
    pub fn funds_conserved(&self) -> bool {
        let totals_match = self.wallets.totals() == self.wallets.net_deposits();
        let sane = self.wallets.account_ids().all(|id| {
            let acct = self.wallets.account(id).unwrap_or(0);
            self.wallets.balances(acct).iter().all(|(_, b)| b.locked >= 0 && b.locked <= b.total)
        });
        totals_match && sane
    }

    /// The engine's settings.
    pub fn config(&self) -> &super::engine::EngineConfig {
        &self.cfg
    }

    /// Decimals of wallet amounts inside the engine.
    pub fn amount_decimals(&self) -> u32 {
        AMOUNT_SCALE
    }
}
