//! The core loop: one thread, events in order, time taken from the events. Tick store
//! -> 1m aggregator -> strategies (wasm) -> risk -> venue -> fills back to strategies.
//! Everything a batch of events changed is written to the store in one transaction and
//! broadcast to WebSocket clients.

pub mod bots;
mod compare;
mod dispatch;
mod engine_venue;
pub mod exchange;
pub mod exchange_api;
mod limits;
mod live;
pub mod views;

pub use compare::VariantMetrics;

use crate::config::PluginsConfig;
use crate::execution::{Account, PaperVenue, Venue};
use crate::market_data::feeds::{FeedEvent, SharedSymbols};
use crate::market_data::{BookTicker, CandleAggregator, SymbolId, SymbolInfo, TickStore};
use crate::plugins::PluginHost;
use crate::plugins::watcher::WatchEvent;
use crate::store::{Batch, Store, StoreError};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A request answered on the core thread between two events.
pub type Query = Box<dyn FnOnce(&mut Core) + Send>;

/// Everything the core loop consumes, in one ordered channel.
pub enum Input {
    /// Market events, in order.
    Market(Vec<FeedEvent>),
    /// A module or configuration change, compiled and validated aside.
    Watch(WatchEvent),
    /// An API request.
    Query(Query),
    /// What a live venue's router reported.
    Live(Box<crate::execution::live::LiveEvent>),
    /// Candles of minutes a live feed built without every trade (trades were lost in a
    /// reconnect), as the venue has them (REST klines): they replace the stored candles
    /// and are published as `candle_corrected`. Strategies already had those minutes and
    /// do not get them again.
    Repair(Vec<crate::market_data::Candle>),
    /// The feed has no more events.
    FeedEnded,
    /// Stop: flush and return.
    Shutdown,
}

/// Settings of the core loop.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Drop each symbol's first candle (the feed joined mid-minute).
    pub skip_first_partial: bool,
    /// Ticks kept per symbol in memory.
    pub tick_capacity: usize,
    /// Skip market events at or before this event time (resuming a replay).
    pub resume_after_ms: Option<i64>,
    /// Name of the feed, for /health.
    pub feed: String,
    /// A backtest: no strategy snapshots, no stored candles, nothing broadcast; only
    /// orders, fills and signals are recorded.
    pub backtest: bool,
    /// Mirror market trades into the paper exchange (house liquidity, stop triggers,
    /// alerts). Off for full-speed replays, which are analysis runs.
    pub mirror_market: bool,
}

/// Counters for /health.
#[derive(Debug, Clone, Default)]
pub struct CoreStats {
    /// Market events handled.
    pub events: u64,
    /// Market events skipped because a previous run had processed them.
    pub resumed_skipped: u64,
    /// Candles closed.
    pub candles: u64,
    /// Orders placed.
    pub orders: u64,
    /// Fills.
    pub fills: u64,
    /// Whether the feed has ended.
    pub feed_ended: bool,
}

/// State owned by the core thread.
pub struct Core {
    symbols: SharedSymbols,
    infos: Vec<SymbolInfo>,
    active: BTreeSet<SymbolId>,
    ticks: TickStore,
    aggregator: CandleAggregator,
    last_prices: Vec<Option<Decimal>>,
    books: HashMap<SymbolId, BookTicker>,
    plugins: PluginHost,
    venue: PaperVenue,
    store: Store,
    batch: Batch,
    bus: broadcast::Sender<Arc<str>>,
    next_order_id: u64,
    now_ms: i64,
    settings: CoreSettings,
    config: PluginsConfig,
    stats: CoreStats,
    tracks: rustc_hash::FxHashMap<String, compare::Track>,
    /// Open of the last closed candle per symbol id (index = id).
    last_open: Vec<Option<Decimal>>,
    /// Accounts changed since the last flush (written once per flush, not per fill).
    dirty_accounts: BTreeSet<String>,
    /// The trade log of a backtest (kept in memory instead of the store).
    backtest_trades: Vec<crate::store::TradeRow>,
    /// The paper exchange (matching engine) behind the `/api/...` trading endpoints.
    exchange: exchange::Exchange,
    /// Seed-002 style events (`trade`, `orderbook_update`, `price_alert_triggered`,
    /// `order_update`) for `/ws/{client_id}`.
    exchange_bus: broadcast::Sender<Arc<str>>,
    /// Minute of the last DAY/GTD expiry sweep.
    last_sweep_minute: i64,
    /// Bots created through the API.
    bots: Vec<bots::Bot>,
    /// Orders on live exchanges, their routers, and the kill switch.
    live: live::LiveState,
    /// State of the per-session risk limits.
    session: limits::SessionRisk,
    /// Saved accounts not claimed by a configured strategy yet (bots restarting).
    saved_accounts: HashMap<String, Account>,
    /// Exchange journal entries written since the last snapshot.
    journal_since_snapshot: usize,
    /// Open paper orders of strategies working on the matching engine, by host id.
    engine_orders: std::collections::BTreeMap<u64, crate::execution::Order>,
    /// Fill-chain depth of the strategy order being applied to the engine (bounds
    /// fill -> on-fill -> order -> fill chains like the paper venue's).
    engine_depth: u8,
    /// Set while a backtest's candle batch runs a candle's market side only: its delivery
    /// to the strategy goes in (or went in) the batch.
    hold_candles: bool,
    /// How many candles the next batch offers (adapts to how far the strategy gets).
    batch_len: usize,
    /// The compact form of the candle `handle` is about to take, when the caller has it
    /// (a backtest converts each candle once for every core): used if it is that candle's.
    next_compact: Option<crate::plugins::bindings::wit::CandleCompact>,
    /// Repaired candles of minutes still forming here (applied when they close).
    pending_repairs: Vec<crate::market_data::Candle>,
}

/// Snapshot the paper exchange (and compact its journal) every this many journal entries.
const SNAPSHOT_EVERY: usize = 50_000;

/// What a live edit of plugins.toml asks for that only a restart sets up: feeds of newly
/// named venue markets and connections to newly traded exchanges.
fn start_only_changes(old: &PluginsConfig, new: &PluginsConfig) -> Vec<String> {
    let mut lines = Vec::new();
    let before = old.qualified_markets();
    for m in new.qualified_markets().into_iter().filter(|m| !before.contains(m)) {
        lines.push(format!("market {} is new: feeds subscribe at start, so it gets data after a restart", m.name));
    }
    let connected = old.traded_exchanges();
    for ex in new.traded_exchanges().into_iter().filter(|e| !connected.contains(e)) {
        lines.push(format!(
            "exchange {ex} is newly traded: it is connected at start, so its orders are refused until a restart"
        ));
    }
    lines
}

impl Core {
    /// Build the core: restore accounts, orders and snapshots from the store, start the
    /// configured strategies.
    pub fn new(
        settings: CoreSettings,
        symbols: SharedSymbols,
        plugins: PluginHost,
        store: Store,
        config: PluginsConfig,
        modules: &crate::plugins::registry::ModuleResults,
        bus: broadcast::Sender<Arc<str>>,
    ) -> Result<Self, StoreError> {
        let mut table = symbols.write().map(|s| s.clone()).unwrap_or_default();
        let saved_accounts = store.accounts(&mut table)?;
        let open_orders = store.open_orders(&mut table)?;
        let snapshots = store.snapshots()?;
        let next_order_id = store.max_order_id()? + 1;
        let mut plugins = plugins;
        for line in plugins.apply_config(&config, modules, &mut table, &snapshots) {
            tracing::info!("{line}");
        }
        if settings.backtest {
            // Nobody reads per-call timings of a backtest: save two clock reads per call.
            for inst in plugins.instances_mut() {
                inst.timed = false;
            }
        }
        if let Ok(mut shared) = symbols.write() {
            *shared = table;
        }
        let mut core = Core {
            symbols,
            infos: Vec::new(),
            active: BTreeSet::new(),
            ticks: TickStore::new(settings.tick_capacity),
            aggregator: CandleAggregator::new(settings.skip_first_partial),
            last_prices: Vec::new(),
            books: HashMap::new(),
            plugins,
            venue: PaperVenue::default(),
            store,
            batch: Batch::default(),
            bus,
            next_order_id,
            now_ms: 0,
            settings,
            config,
            stats: CoreStats::default(),
            tracks: Default::default(),
            last_open: Vec::new(),
            dirty_accounts: BTreeSet::new(),
            backtest_trades: Vec::new(),
            hold_candles: false,
            batch_len: dispatch::BATCH_START,
            next_compact: None,
            pending_repairs: Vec::new(),
            exchange: exchange::Exchange::new(exchange::ExchangeSettings::from_env()),
            exchange_bus: broadcast::channel(4096).0,
            last_sweep_minute: i64::MIN,
            bots: Vec::new(),
            live: live::LiveState::default(),
            session: limits::SessionRisk::default(),
            saved_accounts: HashMap::new(),
            journal_since_snapshot: 0,
            engine_orders: Default::default(),
            engine_depth: 0,
        };
        let prefix = if core.settings.backtest { "thbacktest".to_string() } else { core.store.client_id_prefix()? };
        core.init_live(prefix);
        if let Some(reason) = core.store.meta("kill_switch")?.filter(|r| !r.is_empty()) {
            tracing::warn!(%reason, "the kill switch was on when the host stopped: trading stays halted until resumed");
            core.live.halted = Some(reason);
        }
        let mut covered = i64::MIN;
        if let Some((seq, bytes)) = core.store.exchange_snapshot()? {
            core.exchange.restore(&bytes).map_err(|reason| StoreError::Corrupt {
                table: "exchange_snapshots",
                column: "state",
                value: reason,
            })?;
            tracing::info!(journal_seq = seq, bytes = bytes.len(), "exchange restored from its snapshot");
            covered = seq;
        }
        let journal: Vec<exchange::JournalEntry> = core.store.journal_after(covered)?;
        if !journal.is_empty() {
            tracing::info!(entries = journal.len(), "replaying the exchange journal");
        }
        core.journal_since_snapshot = journal.len();
        core.exchange.replay(journal);
        core.refresh_infos();
        core.open_accounts(saved_accounts);
        core.restore_bots();
        for o in open_orders {
            match core.order_exchange(&o.instance, o.symbol) {
                Some(venue) => core.restore_live_order(o, venue),
                _ if core.restore_engine_order(&o) => {}
                _ => core.venue.restore_order(o),
            }
        }
        let ids: Vec<SymbolId> =
            core.plugins.instances().iter().flat_map(|i| i.symbols.iter().map(|(id, _)| *id)).collect();
        core.active.extend(ids);
        core.list_active_pairs();
        core.flush();
        Ok(core)
    }

    /// Open paper accounts: saved ones win over configured starting balances.
    fn open_accounts(&mut self, mut saved: HashMap<String, Account>) {
        for s in &self.config.strategies {
            if self.venue.has_account(&s.id) {
                continue;
            }
            let mut acc =
                saved.remove(&s.id).unwrap_or_else(|| Account::new(s.account.balances.clone(), s.account.taker_fee));
            acc.taker_fee = s.account.taker_fee;
            self.venue.open_account(&s.id, acc);
        }
        // Accounts of instances not (yet) configured: bots started later claim theirs.
        self.saved_accounts.extend(saved);
    }

    fn refresh_infos(&mut self) {
        if let Ok(table) = self.symbols.read() {
            self.infos = table.iter().map(|(_, i)| i.clone()).collect();
        }
        if self.last_prices.len() < self.infos.len() {
            self.last_prices.resize(self.infos.len(), None);
        }
    }

    fn info(&mut self, id: SymbolId) -> Option<&SymbolInfo> {
        if id.0 as usize >= self.infos.len() {
            self.refresh_infos();
        }
        self.infos.get(id.0 as usize)
    }

    /// Run until shutdown, consuming `rx`. With `busy_poll` the thread polls `rx` instead
    /// of sleeping on it: it never leaves its CPU, so an event reaches it without a wake-up
    /// (on a virtual machine, waking a halted CPU for each trade costs tens of µs:
    /// BENCHMARKS.md section 10), at the cost of that CPU.
    pub fn run(mut self, rx: std::sync::mpsc::Receiver<Input>, busy_poll: bool) {
        loop {
            let input = if busy_poll { poll(&rx) } else { rx.recv().ok() };
            let Some(input) = input else { break };
            match input {
                Input::Market(events) => {
                    for e in events {
                        self.handle(e);
                    }
                }
                Input::Watch(w) => self.apply_watch(w),
                Input::Query(q) => q(&mut self),
                Input::Live(ev) => self.on_live(*ev),
                Input::Repair(candles) => self.repair_candles(candles),
                Input::FeedEnded => {
                    self.stats.feed_ended = true;
                    tracing::info!(
                        events = self.stats.events,
                        candles = self.stats.candles,
                        fills = self.stats.fills,
                        "feed ended"
                    );
                }
                Input::Shutdown => break,
            }
            self.flush();
            // Orders reach an exchange only after the batch that records them is written.
            self.send_outbox();
        }
        self.shutdown();
    }

    /// Handle one market event.
    pub fn handle(&mut self, event: FeedEvent) {
        let time = match &event {
            FeedEvent::Trade(t) => Some(t.time_ms),
            FeedEvent::Candle(c) => Some(c.close_time_ms),
            _ => None,
        };
        if let (Some(t), Some(after)) = (time, self.settings.resume_after_ms)
            && t <= after
        {
            self.stats.resumed_skipped += 1;
            return;
        }
        self.stats.events += 1;
        match event {
            FeedEvent::Trade(t) => self.on_trade(t),
            FeedEvent::Clock(ms) => self.on_clock(ms),
            FeedEvent::Book(b) => {
                if self.active.contains(&b.symbol) {
                    self.books.insert(b.symbol, b);
                    if self.settings.mirror_market && !self.settings.backtest {
                        self.exchange_book(b);
                    }
                }
            }
            FeedEvent::Candle(c) => self.on_kline(c),
        }
    }

    fn apply_watch(&mut self, w: WatchEvent) {
        let lines = match w {
            WatchEvent::Module(path, r) => self.plugins.apply_module(&path, r),
            WatchEvent::Config(r) => match *r {
                Err(e) => vec![format!("plugins.toml not applied, running configuration stays: {e}")],
                Ok((mut cfg, modules)) => {
                    // Bots are not in the file: they stay.
                    cfg.strategies.extend(self.bots.iter().map(|b| b.config.clone()));
                    let snapshots = self.store.snapshots().unwrap_or_default();
                    let mut table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
                    let mut lines = self.plugins.apply_config(&cfg, &modules, &mut table, &snapshots);
                    if let Ok(mut shared) = self.symbols.write() {
                        *shared = table;
                    }
                    lines.extend(start_only_changes(&self.config, &cfg));
                    self.config = cfg;
                    self.refresh_infos();
                    self.open_accounts(HashMap::new());
                    let ids: Vec<SymbolId> =
                        self.plugins.instances().iter().flat_map(|i| i.symbols.iter().map(|(id, _)| *id)).collect();
                    self.active.extend(ids);
                    lines
                }
            },
        };
        for line in lines {
            tracing::info!("{line}");
            self.publish("plugin", || serde_json::json!({ "message": line }));
        }
    }

    /// Send a `{"type": .., "data": ..}` message to WebSocket clients.
    /// The JSON is only built when someone is listening.
    fn publish(&self, kind: &str, data: impl FnOnce() -> serde_json::Value) {
        if self.bus.receiver_count() > 0 {
            let msg = serde_json::json!({ "type": kind, "data": data() }).to_string();
            let _ = self.bus.send(msg.into());
        }
    }

    /// Take the trade log of one instance in a backtest.
    pub fn take_backtest_trades(&mut self, instance: &str) -> Vec<crate::store::TradeRow> {
        let (mine, rest) = std::mem::take(&mut self.backtest_trades).into_iter().partition(|t| t.strategy == instance);
        self.backtest_trades = rest;
        mine
    }

    /// Adverse slippage on the paper venue's market and stop fills (backtests).
    pub fn set_slippage(&mut self, fraction: Decimal) {
        self.venue.set_slippage(fraction);
    }

    /// The channel of seed-002 style exchange events (for `/ws/{client_id}`).
    pub fn exchange_bus(&self) -> broadcast::Sender<Arc<str>> {
        self.exchange_bus.clone()
    }

    /// The open of the last candle seen per symbol (where a backtest closes positions).
    pub fn last_open(&self, symbol: SymbolId) -> Option<Decimal> {
        self.last_open.get(symbol.0 as usize).copied().flatten()
    }

    /// The last trade price per symbol.
    pub fn last_price(&self, symbol: SymbolId) -> Option<Decimal> {
        self.last_prices.get(symbol.0 as usize).copied().flatten()
    }

    /// Write what the last batch of events changed.
    pub fn flush(&mut self) {
        self.batch.journal.extend(self.exchange.take_journal());
        self.journal_since_snapshot += self.batch.journal.len();
        for id in std::mem::take(&mut self.dirty_accounts) {
            if let Some(acc) = self.venue.account(&id) {
                self.batch.accounts.push((id, acc.clone()));
            }
        }
        if self.batch.is_empty() {
            return;
        }
        self.batch.cursor_ms = Some(self.now_ms);
        let batch = std::mem::take(&mut self.batch);
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        if let Err(e) = self.store.write(&batch, &table) {
            tracing::error!(error = %e, "could not persist a batch of events");
            return;
        }
        if self.journal_since_snapshot >= SNAPSHOT_EVERY {
            self.snapshot_exchange();
        }
    }

    /// Snapshot the paper exchange and compact its journal.
    pub fn snapshot_exchange(&mut self) {
        if self.settings.backtest {
            return;
        }
        let started = std::time::Instant::now();
        let bytes = match self.exchange.snapshot() {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "exchange snapshot failed; the journal keeps growing");
                return;
            }
        };
        match self.store.save_exchange_snapshot(&bytes) {
            Ok(seq) => {
                tracing::info!(
                    journal_seq = seq,
                    bytes = bytes.len(),
                    ms = started.elapsed().as_millis() as u64,
                    entries = self.journal_since_snapshot,
                    "exchange snapshot saved; journal compacted"
                );
                self.journal_since_snapshot = 0;
            }
            Err(e) => tracing::error!(error = %e, "exchange snapshot not saved; the journal keeps growing"),
        }
    }

    fn shutdown(&mut self) {
        let ids: Vec<usize> = (0..self.plugins.instances().len()).collect();
        for i in ids {
            self.save_snapshot(i);
        }
        self.flush();
        if self.journal_since_snapshot > 0 {
            self.snapshot_exchange();
        }
        tracing::info!("core loop stopped; state flushed");
    }
}

#[cfg(test)]
mod start_only_tests {
    use super::*;

    #[test]
    fn a_live_edit_names_what_waits_for_a_restart() {
        let parse = |text: &str| PluginsConfig::parse(text, std::path::Path::new("p.toml"), &|_| None).unwrap();
        let one = "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"binance:BTCUSDT\"]\n";
        let two = "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"binance:BTCUSDT\", \"bybit:BTCUSDT\"]\nvenue = \"live\"\n";
        assert!(start_only_changes(&parse(one), &parse(one)).is_empty());
        let lines = start_only_changes(&parse(one), &parse(two));
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("market bybit:BTCUSDT is new"), "{lines:?}");
        assert!(
            lines[1].starts_with("exchange binance is newly traded") && lines[2].starts_with("exchange bybit"),
            "{lines:?}"
        );
        assert!(start_only_changes(&parse(two), &parse(one)).is_empty(), "removing needs nothing");
    }
}

/// The next input, or None when every sender is gone, without sleeping: spins, and lets
/// another thread on this CPU run every million spins (tens of ms; the scheduler preempts
/// the thread anyway, and yielding every few thousand spins gave most of the latency
/// gain back).
fn poll(rx: &std::sync::mpsc::Receiver<Input>) -> Option<Input> {
    let mut spins = 0u32;
    loop {
        match rx.try_recv() {
            Ok(input) => return Some(input),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(1 << 20) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// A core with no strategy on an in-memory store, live settings (candles stored), and
/// the symbol BTCUSDT.
#[cfg(test)]
pub(crate) fn test_core() -> (Core, SymbolId) {
    let symbols = crate::market_data::feeds::shared_symbols();
    let id = symbols.write().unwrap().intern("BTCUSDT").unwrap();
    let settings = CoreSettings {
        skip_first_partial: false,
        tick_capacity: 16,
        resume_after_ms: None,
        feed: "test".into(),
        backtest: false,
        mirror_market: false,
    };
    let config = PluginsConfig::parse("version = 1\n", std::path::Path::new("p.toml"), &|_| None).unwrap();
    let plugins = PluginHost::new(crate::plugins::Loader::new(None).unwrap());
    let store = Store::open(std::path::Path::new(":memory:")).unwrap();
    let (bus, _) = broadcast::channel(16);
    (Core::new(settings, symbols, plugins, store, config, &Default::default(), bus).unwrap(), id)
}

#[cfg(test)]
mod poll_tests {
    use super::*;

    #[test]
    fn polling_returns_each_input_then_none_once_the_senders_are_gone() {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Input>(4);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send(Input::FeedEnded).unwrap();
            tx.send(Input::Shutdown).unwrap();
        });
        assert!(matches!(poll(&rx), Some(Input::FeedEnded)), "waits for the first");
        assert!(matches!(poll(&rx), Some(Input::Shutdown)));
        sender.join().unwrap();
        assert!(poll(&rx).is_none(), "no sender left: the loop ends");
    }
}

#[cfg(test)]
mod repair_tests {
    use super::*;
    use crate::market_data::{Candle, Tick};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn core() -> (Core, SymbolId) {
        let (mut core, id) = test_core();
        core.active.insert(id); // as if a strategy traded it
        (core, id)
    }

    fn trade(symbol: SymbolId, time_ms: i64, price: &str, n: u64) -> FeedEvent {
        FeedEvent::Trade(Tick { symbol, time_ms, price: d(price), qty: d("1"), trade_id: n, buyer_maker: false })
    }

    fn venue_candle(symbol: SymbolId, open_time_ms: i64) -> Candle {
        Candle {
            symbol,
            open_time_ms,
            close_time_ms: open_time_ms + 59_999,
            open: d("100"),
            high: d("130"),
            low: d("90"),
            close: d("120"),
            volume: d("7"),
            quote_volume: Decimal::ZERO,
            trades: 0,
            taker_buy_base: Decimal::ZERO,
            taker_buy_quote: Decimal::ZERO,
        }
    }

    fn stored(core: &Core, open_time_ms: i64) -> Option<(Decimal, Decimal, Decimal, Decimal, Decimal)> {
        let rows = core.store.candles(Some("BTCUSDT"), 10).unwrap();
        rows.iter().find(|r| r.open_time == open_time_ms).map(|r| (r.open, r.high, r.low, r.close, r.volume))
    }

    #[test]
    fn a_repair_replaces_a_closed_candle_and_waits_for_one_still_forming() {
        let (mut core, id) = core();
        let m = 1_700_000_040_000; // on a minute
        core.handle(trade(id, m + 1_000, "110", 1));
        core.handle(trade(id, m + 60_500, "111", 2));
        core.flush();
        assert_eq!(stored(&core, m), Some((d("110"), d("110"), d("110"), d("110"), d("1"))), "built from one trade");

        // Minute m is closed: replaced at once. Minute m + 1 is still forming: kept until it
        // closes, so the candle built here does not overwrite the venue's.
        core.repair_candles(vec![venue_candle(id, m), venue_candle(id, m + 60_000)]);
        core.flush();
        assert_eq!(stored(&core, m), Some((d("100"), d("130"), d("90"), d("120"), d("7"))));
        assert_eq!(stored(&core, m + 60_000), None, "not closed yet");
        core.handle(trade(id, m + 120_500, "112", 3));
        core.flush();
        assert_eq!(stored(&core, m + 60_000), Some((d("100"), d("130"), d("90"), d("120"), d("7"))));
        assert!(core.pending_repairs.is_empty());
    }
}
