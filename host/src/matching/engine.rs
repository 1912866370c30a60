//! The engine: state, the `apply` entry point, and the commands that are not order
//! placement (pairs, deposits, withdrawals, cancels, market trades, sweeps).
//!
//! Everything here is a pure function of the commands applied so far: no clock, no I/O,
//! no randomness, and every map uses a fixed hasher, so replaying the journal of commands
//! rebuilds the same state and the same events.

use super::book::OrderBook;
use super::command::{Command, PairConfig};
use super::event::{Event, OrderUpdate, Trade};
use super::instrument::Pair;
use super::reject::RejectReason;
use super::slab::{Location, Slab, Slot};
use super::stops::Stops;
use super::types::{AccountId, OrderId, OrderStatus, PairId, Side};
use super::units::{amount_units, units_decimal};
use super::wallet::{FeeConfig, FeeConfigError, Fees, Wallets};
use crate::market_data::SymbolInfo;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// Engine settings. They are not commands: journal them with the commands (a replay
/// must start from the same config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Maker/taker fees.
    pub fees: FeeConfig,
    /// Closed orders kept for [`Engine::order`] (the store keeps the full history).
    pub closed_orders_kept: usize,
    /// Trades kept for [`Engine::recent_trades`].
    pub trades_kept: usize,
    /// `false` is the "raw book" mode: no wallets are checked, locked or settled and no
    /// fees charged; matching is unchanged. For benchmarks and pure book tests only.
    pub check_funds: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { fees: FeeConfig::default(), closed_orders_kept: 10_000, trades_kept: 10_000, check_funds: true }
    }
}

/// One pair's state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PairState {
    pub pair: Pair,
    pub info: SymbolInfo,
    pub config: PairConfig,
    pub book: OrderBook,
    pub stops: Stops,
    /// Last traded price in ticks (own trades and market trades), 0 before the first.
    pub last: i64,
}

/// The paper exchange. See the module docs for the rules it follows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Engine {
    pub(crate) cfg: EngineConfig,
    pub(crate) fees: Fees,
    /// Fee schedules of accounts that have their own (by wallet index).
    #[serde(default)]
    pub(crate) account_fees: HashMap<u32, Fees>,
    /// An account whose closed orders are not kept (a market maker that re-quotes on
    /// every trade would push everyone else's history out).
    #[serde(default)]
    pub(crate) history_exempt: Option<u32>,
    pub(crate) fee_acct: u32,
    pub(crate) pairs: Vec<PairState>,
    pub(crate) pair_index: HashMap<String, PairId>,
    pub(crate) slab: Slab,
    pub(crate) wallets: Wallets,
    pub(crate) next_order: u64,
    pub(crate) next_trade: u64,
    /// Event time of the command being applied.
    pub(crate) now_ms: i64,
    pub(crate) expiries: BinaryHeap<Reverse<(i64, OrderId)>>,
    pub(crate) closed: VecDeque<Slot>,
    pub(crate) trades: VecDeque<Trade>,
    /// Trade prices (ticks) of the command being applied, consecutive repeats dropped;
    /// stops are checked against them in order once the taker is done.
    pub(crate) tape: Vec<i64>,
}

const DAY_MS: i64 = 86_400_000;

/// The end of the UTC day containing `time_ms` (the expiry of a DAY order).
pub fn end_of_utc_day(time_ms: i64) -> i64 {
    (time_ms.div_euclid(DAY_MS) + 1) * DAY_MS
}

impl Engine {
    /// An empty engine (no pairs, no accounts but the fee account).
    pub fn new(cfg: EngineConfig) -> Result<Engine, FeeConfigError> {
        let fees = Fees::new(&cfg.fees)?;
        let mut wallets = Wallets::default();
        let fee_acct = wallets.ensure(cfg.fees.fee_account);
        Ok(Engine {
            cfg,
            fees,
            account_fees: HashMap::new(),
            history_exempt: None,
            fee_acct,
            pairs: Vec::new(),
            pair_index: HashMap::new(),
            slab: Slab::default(),
            wallets,
            next_order: 1,
            next_trade: 1,
            now_ms: 0,
            expiries: BinaryHeap::new(),
            closed: VecDeque::new(),
            trades: VecDeque::new(),
            tape: Vec::new(),
        })
    }

    /// Apply one command and return what happened.
    pub fn apply(&mut self, cmd: &Command) -> Vec<Event> {
        let mut out = Vec::new();
        self.apply_into(cmd, &mut out);
        out
    }

    /// Apply one command, appending its events to `out` (no allocation on the hot path
    /// once `out` has grown).
    pub fn apply_into(&mut self, cmd: &Command, out: &mut Vec<Event>) {
        self.tape.clear();
        match cmd {
            Command::Place(o) => {
                self.now_ms = o.time_ms;
                self.place(o, out);
            }
            Command::Cancel { account, order_id, time_ms } => {
                self.now_ms = *time_ms;
                self.cancel(*account, *order_id, out);
            }
            Command::MarketTrade { pair, price, time_ms } => {
                self.now_ms = *time_ms;
                self.market_trade(*pair, *price, out);
            }
            Command::Sweep { now_ms } => {
                self.now_ms = *now_ms;
                self.sweep(out);
            }
            Command::AddPair(cfg) => self.add_pair(cfg, out),
            Command::Deposit { account, asset, amount } => self.deposit(*account, asset, *amount, out),
            Command::Withdraw { account, asset, amount } => self.withdraw(*account, asset, *amount, out),
            Command::SetFees { account, maker_rate, taker_rate } => {
                let cfg = crate::matching::FeeConfig {
                    maker_rate: *maker_rate,
                    taker_rate: *taker_rate,
                    ..self.cfg.fees.clone()
                };
                match Fees::new(&cfg) {
                    Ok(f) => {
                        let w = self.wallets.ensure(*account);
                        self.account_fees.insert(w, f);
                    }
                    Err(e) => reject(out, Some(*account), None, RejectReason::InvalidFees(e.to_string())),
                }
            }
        }
    }

    /// Do not keep `account`'s closed orders in the history (`order`, closed-order
    /// listings); its trades are still kept. Configuration, not a command: set it the
    /// same way before replaying a journal.
    pub fn exempt_from_history(&mut self, account: AccountId) {
        self.history_exempt = Some(self.wallets.ensure(account));
    }

    fn add_pair(&mut self, cfg: &PairConfig, out: &mut Vec<Event>) {
        let invalid = |problem: String| RejectReason::InvalidPair { symbol: cfg.symbol.clone(), problem };
        let Some(info) = SymbolInfo::parse(&cfg.symbol) else {
            return reject(out, None, None, invalid("cannot split it into base and quote".into()));
        };
        if let Some(id) = self.pair_index.get(&info.name) {
            return reject(out, None, None, invalid(format!("already listed as pair {id}")));
        }
        let id = PairId(self.pairs.len() as u32);
        let (base, quote) = (self.wallets.asset(&info.base), self.wallets.asset(&info.quote));
        match Pair::new(id, cfg, base, quote) {
            Err(problem) => reject(out, None, None, invalid(problem)),
            Ok(pair) => {
                out.push(Event::PairAdded {
                    pair: id,
                    symbol: info.name.clone(),
                    base: info.base.clone(),
                    quote: info.quote.clone(),
                });
                self.pair_index.insert(info.name.clone(), id);
                let (book, stops) = (OrderBook::default(), Stops::default());
                self.pairs.push(PairState { pair, info, config: cfg.clone(), book, stops, last: 0 });
            }
        }
    }

    fn deposit(&mut self, account: AccountId, asset: &str, amount: Decimal, out: &mut Vec<Event>) {
        let Some(units) = amount_units(amount).filter(|u| *u > 0) else {
            return reject(out, Some(account), None, RejectReason::InvalidAmount { amount });
        };
        let a = self.wallets.asset(asset);
        let acct = self.wallets.ensure(account);
        self.wallets.deposit(acct, a, units);
        let asset = self.wallets.asset_name(a).to_string();
        out.push(Event::Deposited { account, asset, amount });
    }

    fn withdraw(&mut self, account: AccountId, asset: &str, amount: Decimal, out: &mut Vec<Event>) {
        let Some(units) = amount_units(amount).filter(|u| *u > 0) else {
            return reject(out, Some(account), None, RejectReason::InvalidAmount { amount });
        };
        let found = self.wallets.account(account).zip(self.wallets.asset_id(asset));
        let result = match found {
            Some((acct, a)) => self.wallets.withdraw(acct, a, units),
            None => Err(0),
        };
        match result {
            Ok(()) => {
                let asset = self.wallets.asset_name(self.wallets.asset_id(asset).unwrap_or(0)).to_string();
                out.push(Event::Withdrawn { account, asset, amount });
            }
            Err(available) => {
                let asset = asset.trim().to_ascii_uppercase();
                let reason =
                    RejectReason::InsufficientBalance { asset, needed: amount, available: units_decimal(available) };
                reject(out, Some(account), None, reason);
            }
        }
    }

    fn cancel(&mut self, account: AccountId, order_id: OrderId, out: &mut Vec<Event>) {
        let Some(slot) = self.slab.find(order_id).filter(|&s| self.slab[s].account == account) else {
            return reject(out, Some(account), Some(order_id), RejectReason::UnknownOrder { order_id });
        };
        self.take_off(slot);
        self.close(slot, OrderStatus::Canceled, self.now_ms, out);
    }

    fn market_trade(&mut self, pair: PairId, price: Decimal, out: &mut Vec<Event>) {
        let Some(p) = self.pair_slot(pair) else {
            return reject(out, None, None, RejectReason::UnknownPair { pair: pair.to_string() });
        };
        match self.pairs[p].pair.ticks("price", price) {
            Err(reason) => reject(out, None, None, reason),
            Ok(ticks) => {
                self.tape.push(ticks);
                self.run_triggers(p, out);
            }
        }
    }

    fn sweep(&mut self, out: &mut Vec<Event>) {
        while let Some(&Reverse((expire, id))) = self.expiries.peek() {
            if expire > self.now_ms {
                break;
            }
            self.expiries.pop();
            let Some(slot) = self.slab.find(id) else { continue };
            if self.slab[slot].expire_ms != expire {
                continue;
            }
            self.take_off(slot);
            self.close(slot, OrderStatus::Expired, self.now_ms, out);
        }
    }

    /// Remove an open order from the book or the stop lists (not from the slab).
    pub(crate) fn take_off(&mut self, slot: u32) {
        let p = self.slab[slot].pair as usize;
        match self.slab[slot].at {
            Location::Resting => self.pairs[p].book.unlink(&mut self.slab, slot),
            Location::Pending => self.pairs[p].stops.remove(&self.slab[slot]),
            Location::Taking => {}
        }
    }

    /// The index of a pair id.
    #[inline]
    pub(crate) fn pair_slot(&self, pair: PairId) -> Option<usize> {
        let p = pair.0 as usize;
        (p < self.pairs.len()).then_some(p)
    }

    /// Report an order's state.
    pub(crate) fn report(&mut self, slot: u32, status: OrderStatus, time_ms: i64, out: &mut Vec<Event>) {
        let s = &mut self.slab[slot];
        s.status = status;
        let pair = &self.pairs[s.pair as usize].pair;
        out.push(Event::Order(OrderUpdate {
            order_id: s.id,
            account: s.account,
            pair: pair.id,
            side: s.side,
            order_type: s.order_type,
            status,
            filled_qty: pair.qty(s.filled),
            filled_quote: pair.notional_decimal(s.filled_notional),
            time_ms,
        }));
    }

    /// End an order (already off the book): release its lock, report, free its slot.
    pub(crate) fn close(&mut self, slot: u32, status: OrderStatus, time_ms: i64, out: &mut Vec<Event>) {
        let s = &mut self.slab[slot];
        s.status = status;
        if s.locked != 0 {
            let pair = &self.pairs[s.pair as usize].pair;
            let asset = if s.side == Side::Buy { pair.quote_asset } else { pair.base_asset };
            self.wallets.unlock(s.acct, asset, s.locked);
            s.locked = 0;
        }
        self.report(slot, status, time_ms, out);
        if self.cfg.closed_orders_kept > 0 && self.history_exempt != Some(self.slab[slot].acct) {
            if self.closed.len() == self.cfg.closed_orders_kept {
                self.closed.pop_front();
            }
            self.closed.push_back(self.slab[slot].clone());
        }
        self.slab.release(slot);
    }

    /// Emit a trade and keep it in the recent-trades ring.
    pub(crate) fn record_trade(&mut self, trade: Trade, out: &mut Vec<Event>) {
        if self.cfg.trades_kept > 0 {
            if self.trades.len() == self.cfg.trades_kept {
                self.trades.pop_front();
            }
            self.trades.push_back(trade);
        }
        out.push(Event::Trade(trade));
    }

    /// Remember when a DAY/GTD order expires (entries of orders that ended are skipped
    /// by the sweep).
    pub(crate) fn schedule_expiry(&mut self, slot: u32) {
        let s = &self.slab[slot];
        self.expiries.push(Reverse((s.expire_ms, s.id)));
    }
}

/// Push a rejection.
pub(crate) fn reject(out: &mut Vec<Event>, account: Option<AccountId>, order_id: Option<OrderId>, r: RejectReason) {
    out.push(Event::Rejected { account, order_id, reason: Box::new(r) });
}
