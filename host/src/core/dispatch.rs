//! Event dispatch inside the core loop: market events to the aggregator and the
//! strategies, strategy intents through risk to the venue, fills back to strategies.

use super::Core;
use crate::execution::{Fill, Order, OrderStatus, Venue, risk};
use crate::market_data::feeds::FeedEvent;
use crate::market_data::{Candle, Tick};
use crate::plugins::bindings::{self, HostState, Strategy, candle_out, dec_in, fill_out, side_in, tick_out, wit};
use crate::store::SignalRecord;
use rust_decimal::Decimal;
use wasmtime::Store;

/// The first `n` characters of `s` (all of it when shorter), borrowed.
fn first_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(at, _)| &s[..at])
}

/// How deep fills may chain (fill -> on-fill -> order -> fill ...) within one event.
pub(super) const MAX_CHAIN: u8 = 4;

/// Candles the first batch offers a strategy; later batches follow how far it got.
pub(super) const BATCH_START: usize = 16;
/// The most candles one batch offers.
const BATCH_MAX: usize = 256;

/// One event handler call (no allocation per call: the hot path calls this per candle and
/// per instance).
#[derive(Clone, Copy)]
enum Call<'a> {
    Tick(wit::Tick),
    Timer(i64),
    /// A candle, with its compact form when every field fits (the full record is built
    /// only when it does not).
    Candle(Option<&'a wit::CandleCompact>, &'a Candle),
    Fill(wit::Fill),
}

impl Call<'_> {
    fn run(self, api: &Strategy, st: &mut Store<HostState>) -> wasmtime::Result<Vec<wit::Intent>> {
        let guest = api.tradehost_strategy_guest();
        match self {
            Call::Tick(t) => guest.call_on_tick(st, t),
            Call::Timer(now) => guest.call_on_timer(st, now),
            Call::Candle(Some(k), _) => guest.call_on_candle_compact(st, *k),
            Call::Candle(None, c) => guest.call_on_candle(st, candle_out(c)),
            Call::Fill(f) => guest.call_on_fill(st, f),
        }
    }
}

impl Core {
    pub(super) fn on_trade(&mut self, t: Tick) {
        if !self.active.contains(&t.symbol) {
            return;
        }
        crate::connectors::latency::stage("1b core has the trade");
        self.advance(t.time_ms);
        let idx = t.symbol.0 as usize;
        if idx >= self.last_prices.len() {
            self.refresh_infos();
            self.last_prices.resize(idx + 1, None);
        }
        self.last_prices[idx] = Some(t.price);
        self.ticks.push(t);
        self.venue_tick(&t);
        if !self.live.open.is_empty() {
            self.trigger_live_stops(t.symbol, t.price);
        }
        if self.settings.mirror_market && !self.settings.backtest {
            self.exchange_trade(t.symbol, t.price, t.time_ms);
        }
        let mut closed = Vec::new();
        self.aggregator.on_tick(&t, &mut closed);
        for c in closed {
            self.on_candle(c);
        }
        crate::connectors::latency::stage("1c market state updated (aggregator, paper venue, mirror)");
        for i in 0..self.plugins.instances().len() {
            let inst = &self.plugins.instances()[i];
            if inst.subscriptions.ticks && inst.is_running() && inst.trades(t.symbol) {
                let wt = tick_out(&t);
                self.deliver(i, Call::Tick(wt), false, 0);
            }
        }
    }

    pub(super) fn on_clock(&mut self, now_ms: i64) {
        self.advance(now_ms);
        let mut closed = Vec::new();
        self.aggregator.on_clock(now_ms, &mut closed);
        for c in closed {
            self.on_candle(c);
        }
    }

    /// A closed candle straight from a kline file (candle-only data). Orders follow the
    /// bar convention: those decided on the previous close fill at this open, then resting
    /// stops and limits meet this candle's range, then strategies see the candle.
    pub(super) fn on_kline(&mut self, c: Candle) {
        if !self.active.contains(&c.symbol) {
            return;
        }
        self.advance(c.close_time_ms);
        self.venue.set_bar_mode(true);
        if c.symbol.0 as usize >= self.infos.len() {
            self.refresh_infos();
        }
        let idx = c.symbol.0 as usize;
        if idx >= self.last_prices.len() {
            self.last_prices.resize(idx + 1, None);
        }
        if let Some(info) = self.infos.get(idx) {
            for (order, fill) in self.venue.on_bar_open(&c, info) {
                self.record_order_result(order, fill.into_iter().collect(), 0);
            }
        }
        if let Some(info) = self.infos.get(idx) {
            for (order, fill) in self.venue.on_bar_range(&c, info) {
                self.record_order_result(order, fill.into_iter().collect(), 0);
            }
        }
        // Normalised, so the answer to `last-price` is the same `Decimal` whether the
        // strategy gets this candle alone or in a batch (the SDK answers from the close).
        self.last_prices[idx] = Some(c.close.normalize());
        self.on_candle(c);
    }

    /// Let the venue see a trade (resting orders it reaches execute). The per-tick path
    /// borrows the symbol info; nothing is cloned unless an order changed.
    fn venue_tick(&mut self, t: &Tick) {
        if t.symbol.0 as usize >= self.infos.len() {
            self.refresh_infos();
        }
        let Some(info) = self.infos.get(t.symbol.0 as usize) else { return };
        for (order, fill) in self.venue.on_tick(t, info) {
            self.record_order_result(order, fill.into_iter().collect(), 0);
        }
    }

    /// Move event time forward: restarts and timers that are due.
    fn advance(&mut self, now_ms: i64) {
        if now_ms > self.now_ms {
            if now_ms.div_euclid(86_400_000) != self.now_ms.div_euclid(86_400_000) {
                self.now_ms = now_ms;
                self.roll_session_day();
            }
            self.now_ms = now_ms;
        }
        let now = self.now_ms;
        for i in 0..self.plugins.instances().len() {
            let inst = &mut self.plugins.instances_mut()[i];
            inst.restart_if_due(now);
            let every = i64::from(inst.subscriptions.timer_ms);
            if every == 0 || !inst.is_running() {
                continue;
            }
            let due = *inst.next_timer_ms.get_or_insert(now + every);
            if now >= due {
                inst.next_timer_ms = Some(now + every);
                self.deliver(i, Call::Timer(now), true, 0);
            }
        }
    }

    /// Replace stored candles with the venue's own ([`super::Input::Repair`]). A minute
    /// still forming here is left alone: its candle is not closed, nothing to replace.
    pub(super) fn repair_candles(&mut self, candles: Vec<Candle>) {
        for c in candles {
            let forming = self.aggregator.forming(c.symbol).is_some_and(|f| f.open_time_ms <= c.open_time_ms);
            if forming && self.active.contains(&c.symbol) {
                // Kept until that minute closes here (`on_candle`), so the candle built
                // without the lost trades does not overwrite it. (A symbol no strategy
                // trades any more builds no candles: nothing to wait for.)
                self.pending_repairs.push(c);
                continue;
            }
            self.apply_repair(c);
        }
    }

    /// Store and publish a repaired candle.
    fn apply_repair(&mut self, c: Candle) {
        let name = self.market_name(c.symbol);
        tracing::info!(symbol = %name, open_time_ms = c.open_time_ms, "candle repaired from the venue's klines");
        if !self.settings.backtest {
            self.batch.candles.push(c);
        }
        self.publish("candle_corrected", || super::views::candle_json(&name, &c));
    }

    /// Repairs of minutes up to `c`'s (of its symbol), now closed here: applied after the
    /// candle `c` itself was stored.
    fn apply_pending_repairs(&mut self, c: &Candle) {
        if self.pending_repairs.is_empty() {
            return;
        }
        let (due, wait): (Vec<Candle>, Vec<Candle>) = std::mem::take(&mut self.pending_repairs)
            .into_iter()
            .partition(|r| r.symbol == c.symbol && r.open_time_ms <= c.open_time_ms);
        self.pending_repairs = wait;
        for r in due {
            self.apply_repair(r);
        }
    }

    fn on_candle(&mut self, c: Candle) {
        self.stats.candles += 1;
        let idx = c.symbol.0 as usize;
        if idx >= self.last_open.len() {
            self.last_open.resize(idx + 1, None);
        }
        self.last_open[idx] = Some(c.open);
        self.mark_equity(c.symbol);
        if !self.settings.backtest {
            self.batch.candles.push(c);
        }
        if self.bus.receiver_count() > 0 {
            let name = self.market_name(c.symbol);
            self.publish("candle", || super::views::candle_json(&name, &c));
        }
        self.apply_pending_repairs(&c);
        // A batch delivers the candle itself (`try_batch`).
        if !self.hold_candles {
            let given = self.next_compact.take().filter(|k| k.symbol == c.symbol.0 && k.open_time_ms == c.open_time_ms);
            let compact = given.or_else(|| bindings::candle_compact_out(&c));
            for i in 0..self.plugins.instances().len() {
                let inst = &self.plugins.instances()[i];
                if inst.is_running() && inst.trades(c.symbol) {
                    self.deliver(i, Call::Candle(compact.as_ref(), &c), true, 0);
                }
            }
        }
        if self.bus.receiver_count() > 0 {
            let rows = serde_json::to_value(self.compare()).unwrap_or_default();
            self.publish("strategy_metrics", || rows);
        }
    }

    /// A backtest's events in order, as [`Core::handle`] one by one would, but quiet
    /// stretches of candles go to the strategy in batches (`guest-batch.on-candles`): a
    /// core running one instance, on candle data, offers it the candles that follow as
    /// long as none of them could execute one of its orders, start a new day or fire a
    /// timer. The strategy stops at the first candle it acts on; the candles it handled
    /// then get their market side (equity marks, last prices) and its intents run, as if
    /// it had been called per candle. Same trades, same equity, fewer sandbox calls.
    ///
    /// `compact` holds [`Core::compact_forms`] of `events` (computed once for all the cores
    /// that run them); any other length and the core converts the candles itself.
    pub fn handle_batched(&mut self, events: &[FeedEvent], compact: &[Option<wit::CandleCompact>]) {
        let own;
        let compact = if compact.len() == events.len() {
            compact
        } else {
            own = Core::compact_forms(events);
            &own
        };
        let mut i = 0;
        while i < events.len() {
            i += match self.try_batch(events, compact, i) {
                Some(n) => n,
                None => {
                    self.next_compact = compact[i];
                    self.handle(events[i]);
                    self.next_compact = None;
                    1
                }
            };
        }
    }

    /// The compact form of each event that is a candle with one (its prices and volumes
    /// fit 64-bit mantissas), `None` for the others: what [`Core::handle_batched`] takes.
    pub fn compact_forms(events: &[FeedEvent]) -> Vec<Option<wit::CandleCompact>> {
        events
            .iter()
            .map(|e| match e {
                FeedEvent::Candle(c) => bindings::candle_compact_out(c),
                _ => None,
            })
            .collect()
    }

    /// Handle `events[i]` (a candle) and, when they can go in one batch, those after it;
    /// returns how many were handled, or `None` for the one-by-one path.
    fn try_batch(&mut self, events: &[FeedEvent], compact: &[Option<wit::CandleCompact>], i: usize) -> Option<usize> {
        let FeedEvent::Candle(first) = events[i] else { return None };
        let one = self.plugins.instances().len() == 1 && self.plugins.instances()[0].takes_batches();
        let quiet = self.settings.backtest && self.settings.resume_after_ms.is_none() && self.live.open.is_empty();
        let inst = self.plugins.instances().first()?;
        if !one || !quiet || inst.subscriptions.timer_ms != 0 || !inst.trades(first.symbol) {
            return None;
        }
        // The first candle's market side (fills of orders it reaches reach the strategy
        // first, as on the one-by-one path), then the candle itself with what may follow.
        self.hold_candles = true;
        self.handle(events[i]);
        self.hold_candles = false;
        let inst = &self.plugins.instances()[0];
        if !inst.is_running() || !self.active.contains(&first.symbol) {
            return Some(1);
        }
        let Some(k) = compact[i] else {
            self.deliver(0, Call::Candle(None, &first), true, 0);
            return Some(1);
        };
        let day = first.close_time_ms.div_euclid(86_400_000);
        let mut len = 1;
        for (e, form) in events[i + 1..].iter().zip(&compact[i + 1..]) {
            let FeedEvent::Candle(c) = e else { break };
            if len >= self.batch_len
                || form.is_none()
                || c.close_time_ms.div_euclid(86_400_000) != day
                || c.close_time_ms <= self.now_ms
                || !inst.trades(c.symbol)
                || !self.active.contains(&c.symbol)
                || self.venue.bar_touches(c)
            {
                break;
            }
            len += 1;
        }
        let offered = len;
        if len == 1 {
            self.deliver(0, Call::Candle(Some(&k), &first), true, 0);
            return Some(1);
        }
        let candles: Vec<bindings::PackedCandle> =
            compact[i..i + len].iter().flatten().copied().map(bindings::PackedCandle).collect();
        self.refresh_view(0);
        let Some((handled, intents)) = self.plugins.instances_mut()[0].invoke_batch(candles) else {
            // Where in the batch it failed is unknown: it counts as failed on the first
            // candle, so its restart (after the backoff) may come a few candles earlier
            // than with one call per candle.
            let inst = &self.plugins.instances()[0];
            tracing::warn!(strategy = %inst.id(), candles = offered, "strategy failed inside a candle batch; `--no-batch` replays it one call per candle");
            self.report_failure(0);
            return Some(1);
        };
        let handled = (handled as usize).clamp(1, offered);
        if handled < offered {
            self.batch_len = (handled * 2).clamp(4, BATCH_MAX);
        } else if offered == self.batch_len {
            self.batch_len = (self.batch_len * 2).min(BATCH_MAX);
        }
        // The market side of the candles the strategy handled after the first: none of
        // them executes an order (checked above), so only marks and prices move.
        self.hold_candles = true;
        for e in &events[i + 1..i + handled] {
            self.handle(*e);
        }
        self.hold_candles = false;
        self.run_intents(0, intents, 0);
        Some(handled)
    }

    /// Copy the core's last prices and instance `idx`'s account into its view.
    fn refresh_view(&mut self, idx: usize) {
        let inst = &mut self.plugins.instances_mut()[idx];
        inst.now_ms = self.now_ms;
        if let Some(hs) = inst.host_state() {
            hs.last_prices.clone_from(&self.last_prices);
            let id = hs.instance.as_str();
            if let Some(a) = self.venue.account(id) {
                let open = self.venue.open_orders().iter();
                let live = self.live.open.values().filter(|o| o.order.instance == id).map(|o| &o.order);
                let engine = self.engine_orders.values().filter(|o| o.instance == id);
                hs.account.refresh(a, open.chain(live).chain(engine), id);
            }
        }
    }

    /// Tell listeners that instance `idx` failed in a call.
    fn report_failure(&self, idx: usize) {
        let inst = &self.plugins.instances()[idx];
        let (id, state) = (inst.id().to_string(), inst.state.name());
        let error = inst.stats.last_error.clone().unwrap_or_default();
        self.publish("plugin", || serde_json::json!({ "strategy": id, "state": state, "error": error }));
    }

    /// Call instance `idx` with its view refreshed, then act on what it returns.
    fn deliver(&mut self, idx: usize, call: Call<'_>, snapshot: bool, depth: u8) {
        self.refresh_view(idx);
        let Some(intents) = self.plugins.instances_mut()[idx].invoke(|api, st| call.run(api, st)) else {
            self.report_failure(idx);
            return;
        };
        if snapshot && !self.settings.backtest {
            self.save_snapshot(idx);
        }
        self.run_intents(idx, intents, depth);
    }

    pub(super) fn save_snapshot(&mut self, idx: usize) {
        let inst = &mut self.plugins.instances_mut()[idx];
        if !inst.is_running() {
            return;
        }
        let bytes = inst.take_snapshot();
        let hash = inst.module.as_ref().map(|m| m.hash.clone()).unwrap_or_default();
        self.batch.snapshots.push((inst.id().to_string(), hash, bytes));
    }

    fn run_intents(&mut self, idx: usize, intents: Vec<wit::Intent>, depth: u8) {
        for intent in intents {
            match intent {
                wit::Intent::Signal(s) => self.on_signal(idx, s),
                wit::Intent::Place(req) => {
                    let order = self.build_order(idx, &req);
                    self.place(order, depth);
                }
                wit::Intent::Cancel(order_id) => {
                    let id = self.plugins.instances()[idx].id().to_string();
                    let own = self.venue.open_orders().iter().any(|o| o.id == order_id && o.instance == id);
                    if let Some(order) = own.then(|| self.venue.cancel(order_id)).flatten() {
                        self.record_order_result(order, Vec::new(), depth);
                    } else if self.live.open.get(&order_id).is_some_and(|o| o.order.instance == id) {
                        self.cancel_live(order_id, depth);
                    } else if self.engine_orders.get(&order_id).is_some_and(|o| o.instance == id) {
                        self.cancel_engine(order_id);
                    }
                }
            }
        }
    }

    fn on_signal(&mut self, idx: usize, s: wit::Signal) {
        let inst = &self.plugins.instances()[idx];
        let symbol = crate::market_data::SymbolId(s.symbol);
        if !inst.trades(symbol) {
            return;
        }
        let rec = SignalRecord {
            instance: inst.id().to_string(),
            symbol,
            side: side_in(s.side),
            price: dec_in(s.price).unwrap_or_default(),
            reason: first_chars(&s.reason, 200).to_owned(),
            time_ms: self.now_ms,
        };
        let name = self.market_name(symbol);
        tracing::info!(strategy = %rec.instance, symbol = %name, side = rec.side.as_str(), price = %rec.price, reason = %rec.reason, "signal");
        self.publish("signal", || super::views::signal_json(&name, &rec));
        if !self.settings.backtest {
            self.batch.signals.push(rec);
        }
    }

    fn build_order(&mut self, idx: usize, req: &wit::OrderRequest) -> Order {
        let inst = &self.plugins.instances()[idx];
        let id = self.next_order_id;
        self.next_order_id += 1;
        let mut order = Order {
            id,
            instance: inst.id().to_string(),
            symbol: crate::market_data::SymbolId(req.symbol),
            side: side_in(req.side),
            kind: bindings::kind_in(&req.kind).unwrap_or(crate::execution::OrderKind::Market),
            qty: dec_in(req.qty).unwrap_or_default(),
            filled: Decimal::ZERO,
            status: OrderStatus::New,
            reason: None,
            tag: first_chars(&req.tag, 100).to_owned(),
            time_ms: self.now_ms,
        };
        let reason = if !inst.trades(order.symbol) {
            Some(format!("symbol id {} is not traded by strategy `{}`", req.symbol, inst.id()))
        } else if dec_in(req.qty).is_none() || bindings::kind_in(&req.kind).is_none() {
            Some("quantity or price out of range".to_string())
        } else {
            let last = self.last_prices.get(req.symbol as usize).copied().flatten();
            risk::check(&order, &inst.config.risk, self.venue.account(&order.instance), last).err()
        };
        let reason = reason.or_else(|| self.session_check(&order).err());
        if let Some(r) = reason {
            order.status = OrderStatus::Rejected;
            order.reason = Some(r);
        }
        order
    }

    fn place(&mut self, mut order: Order, depth: u8) {
        self.stats.orders += 1;
        if order.status != OrderStatus::Rejected
            && let Some(halted) = self.live.halted.as_ref()
        {
            order.status = OrderStatus::Rejected;
            order.reason = Some(format!("trading halted: {halted}"));
        }
        match self.order_exchange(&order.instance, order.symbol) {
            Some(venue) if order.status != OrderStatus::Rejected => return self.place_live(order, venue, depth),
            None if order.status != OrderStatus::Rejected && self.engine_mode() => {
                return self.place_engine(order, depth);
            }
            _ => {}
        }
        let mut fills = Vec::new();
        if order.status != OrderStatus::Rejected && self.info(order.symbol).is_some() {
            // Borrowed field by field (no copy of the names): `info` refreshed the table.
            let info = &self.infos[order.symbol.0 as usize];
            fills = self.venue.submit(&mut order, info);
        }
        self.record_order_result(order, fills, depth);
    }

    /// The market's name as the host shows it (`BTCUSDT`, `bybit:BTCUSDT`).
    fn market_name(&self, id: crate::market_data::SymbolId) -> String {
        self.symbols.read().map(|t| t.name(id).to_string()).unwrap_or_default()
    }

    /// Persist, log and broadcast an order and its fills; deliver fills to the strategy.
    pub(super) fn record_order_result(&mut self, order: Order, fills: Vec<Fill>, depth: u8) {
        // The symbol's name only when something uses it (a backtest logs orders at a level
        // that is off, and most of its orders fill nothing).
        let sym = order.symbol;
        match &order.reason {
            Some(r) if order.status == OrderStatus::Rejected && self.settings.backtest => {
                tracing::debug!(strategy = %order.instance, symbol = %self.market_name(sym), order_id = order.id, reason = %r, "order rejected")
            }
            Some(r) if order.status == OrderStatus::Rejected => {
                tracing::warn!(strategy = %order.instance, symbol = %self.market_name(sym), order_id = order.id, reason = %r, "order rejected")
            }
            _ => {
                tracing::info!(strategy = %order.instance, symbol = %self.market_name(sym), order_id = order.id, side = order.side.as_str(), qty = %order.qty, status = order.status.as_str(), "order")
            }
        }
        self.publish("order", || super::views::order_json(&self.market_name(sym), &order));
        if !self.settings.backtest {
            self.batch.orders.push(order.clone());
        }
        if fills.is_empty() {
            return;
        }
        let name = self.market_name(sym);
        if !self.settings.backtest {
            self.dirty_accounts.insert(order.instance.clone());
        }
        let idx = self.plugins.instances().iter().position(|i| i.id() == order.instance);
        for f in fills {
            self.stats.fills += 1;
            tracing::info!(strategy = %f.instance, symbol = %name, side = f.side.as_str(), price = %f.price, qty = %f.qty, fee = %f.fee, "trade");
            self.publish("trade", || super::views::fill_json(&name, &f));
            let wf = fill_out(&f);
            self.track_fill(&f);
            if self.settings.backtest {
                // A backtest keeps its trade log in memory: nothing outlives the run.
                self.backtest_trades.push(crate::store::TradeRow {
                    id: self.backtest_trades.len() as i64 + 1,
                    order_id: f.order_id as i64,
                    strategy: f.instance.clone(),
                    symbol: name.clone(),
                    side: f.side.as_str().to_string(),
                    price: f.price,
                    qty: f.qty,
                    fee: f.fee,
                    realized_pnl: f.realized_pnl,
                    time: f.time_ms,
                });
            } else {
                self.batch.fills.push(f);
            }
            if let Some(i) = idx.filter(|i| {
                let inst = &self.plugins.instances()[*i];
                depth < MAX_CHAIN && inst.is_running() && inst.wants_fills()
            }) {
                self.deliver(i, Call::Fill(wf), true, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod first_chars_tests {
    #[test]
    fn cuts_on_characters_not_bytes() {
        assert_eq!(super::first_chars("crossover", 100), "crossover");
        assert_eq!(super::first_chars("crossover", 5), "cross");
        assert_eq!(super::first_chars("€€€", 2), "€€");
        assert_eq!(super::first_chars("", 3), "");
        assert_eq!(super::first_chars("ab", 0), "");
    }
}
