//! The paper exchange inside the core loop: the matching engine, its journal, the
//! market's own liquidity mirrored as a house account's quotes, users and price alerts.
//!
//! Everything that changes the engine goes through [`Exchange::apply_entry`] and is
//! journaled (one [`JournalEntry`] per input: a user command, a new user, a market
//! trade). The house quotes and stop triggers are derived deterministically from market
//! trades, so replaying the journal into a fresh exchange rebuilds the same books,
//! wallets and order states after a restart.

use crate::alerts::{Alert, Alerts};
use crate::matching::{
    AccountId, Command, Engine, EngineConfig, Event, NewOrder, OrderId, OrderStatus, PairConfig, PairId, Side,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The fee account (engine default) and the house account that carries market liquidity.
const HOUSE: AccountId = AccountId(1);
/// Users get accounts from here on.
const FIRST_USER: u64 = 2;

/// One journaled input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c", rename_all = "snake_case")]
pub enum JournalEntry {
    /// A command for the engine (orders, cancels, deposits, pair listings, sweeps).
    Engine(Command),
    /// A user name bound to an account.
    User {
        /// The API's `user_id`.
        name: String,
        /// Its engine account.
        account: AccountId,
    },
    /// A new price alert, with the price it was created at.
    Alert {
        /// The request.
        alert: crate::alerts::NewAlert,
        /// The asset's price then (reference of percent_change).
        price: Option<Decimal>,
        /// Event time.
        time_ms: i64,
    },
    /// The market's best bid and ask: the house quotes them (with their sizes).
    Book {
        /// Pair symbol.
        symbol: String,
        /// Best bid.
        bid: Decimal,
        /// Size at the best bid.
        bid_qty: Decimal,
        /// Best ask.
        ask: Decimal,
        /// Size at the best ask.
        ask_qty: Decimal,
        /// Event time.
        time_ms: i64,
    },
    /// A strategy order of the host placed as this engine order (paper trading on the
    /// engine): the link is journaled just before the order, so fills find their strategy.
    Link {
        /// The engine's id of the order.
        engine_order: OrderId,
        /// The host's order id.
        host_order: u64,
    },
    /// A trade on the real market: moves stops and the house quotes.
    Tick {
        /// Pair symbol, e.g. BTCUSDT.
        symbol: String,
        /// Trade price.
        price: Decimal,
        /// Event time.
        time_ms: i64,
    },
}

/// Settings of the paper exchange.
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// House quotes sit this fraction below and above the last market trade.
    pub half_spread: Decimal,
    /// Size of each house quote, base units.
    pub house_qty: Decimal,
    /// What a new user's wallets start with.
    pub initial_balances: BTreeMap<String, Decimal>,
    /// Smallest order quantity (`MIN_ORDER_SIZE`), 0 = one lot.
    pub min_order_size: Decimal,
    /// Largest order quantity (`MAX_ORDER_SIZE`).
    pub max_order_size: Option<Decimal>,
    /// Orders a user may place per UTC day (`MAX_DAILY_TRADES`), 0 = unlimited.
    pub max_daily_trades: u32,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        ExchangeSettings {
            half_spread: Decimal::new(5, 4),
            house_qty: Decimal::from(100),
            initial_balances: BTreeMap::from([
                ("USDT".to_string(), Decimal::from(100_000)),
                ("USD".to_string(), Decimal::from(100_000)),
            ]),
            min_order_size: Decimal::ZERO,
            max_order_size: None,
            max_daily_trades: 0,
        }
    }
}

/// Tick and lot of a pair: Binance's for BTC and ETH, a fine grid otherwise.
pub fn default_filters(symbol: &str, base: &str) -> PairConfig {
    let (tick, step) = match base {
        "BTC" => (Decimal::new(1, 2), Decimal::new(1, 5)),
        "ETH" => (Decimal::new(1, 2), Decimal::new(1, 4)),
        _ => (Decimal::new(1, 8), Decimal::new(1, 8)),
    };
    PairConfig::new(symbol, tick, step)
}

/// The house's quote on one pair: [bid, bid qty, ask, ask qty] and the orders carrying it.
type HouseQuote = ([Decimal; 4], Option<OrderId>, Option<OrderId>);

/// Version of the snapshot layout; a snapshot of another version is ignored (the journal
/// is replayed from the start instead, as long as it is kept).
const SNAPSHOT_VERSION: u32 = 1;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    engine: &'a Engine,
    users: &'a HashMap<String, AccountId>,
    next_account: u64,
    house_quotes: Vec<(PairId, HouseQuote)>,
    book_fed: Vec<PairId>,
    alerts: &'a Alerts,
    daily: Vec<((AccountId, i64), u32)>,
    links: Vec<(u64, u64)>,
}

#[derive(Deserialize)]
struct SnapshotOwned {
    version: u32,
    engine: Engine,
    users: HashMap<String, AccountId>,
    next_account: u64,
    house_quotes: Vec<(PairId, HouseQuote)>,
    book_fed: Vec<PairId>,
    alerts: Alerts,
    daily: Vec<((AccountId, i64), u32)>,
    #[serde(default)]
    links: Vec<(u64, u64)>,
}

/// The exchange state owned by the core.
pub struct Exchange {
    pub(super) engine: Engine,
    users: HashMap<String, AccountId>,
    names: HashMap<AccountId, String>,
    next_account: u64,
    /// Per pair: the quoted (bid, bid qty, ask, ask qty) and the house orders carrying it.
    house_quotes: HashMap<PairId, HouseQuote>,
    /// Pairs whose liquidity comes from book tickers (trades then only move stops).
    book_fed: std::collections::HashSet<PairId>,
    pub(super) settings: ExchangeSettings,
    pub(super) alerts: Alerts,
    journal: Vec<String>,
    pub(super) events: Vec<Event>,
    /// Alerts fired since the last drain, with the price and time that fired them.
    pub(super) fired: Vec<(Alert, Decimal, i64)>,
    /// The result of the last alert entry applied.
    last_alert: Option<Result<Alert, String>>,
    daily: HashMap<(AccountId, i64), u32>,
    /// Engine order -> host order, for the host's strategy orders.
    links: BTreeMap<u64, u64>,
    /// Host order -> engine order.
    host_links: HashMap<u64, OrderId>,
}

impl Exchange {
    /// An empty exchange.
    pub fn new(settings: ExchangeSettings) -> Self {
        // The default fee configuration is a constant that validates.
        let mut engine = Engine::new(EngineConfig::default()).expect("the default engine configuration is valid");
        // The house re-quotes on every market trade: keep its closed quotes out of the
        // order history so users' and strategies' orders stay listed.
        engine.exempt_from_history(HOUSE);
        Exchange {
            engine,
            users: HashMap::new(),
            names: HashMap::new(),
            next_account: FIRST_USER,
            house_quotes: HashMap::new(),
            book_fed: Default::default(),
            settings,
            alerts: Alerts::default(),
            journal: Vec::new(),
            events: Vec::new(),
            fired: Vec::new(),
            last_alert: None,
            daily: HashMap::new(),
            links: BTreeMap::new(),
            host_links: HashMap::new(),
        }
    }

    /// The host order an engine order carries, if it is a strategy's.
    pub fn host_order(&self, engine_order: OrderId) -> Option<u64> {
        self.links.get(&engine_order.0).copied()
    }

    /// The engine order of a host order, if it was placed on the engine.
    pub fn engine_order(&self, host_order: u64) -> Option<OrderId> {
        self.host_links.get(&host_order).copied()
    }

    /// The engine account of a host strategy instance: created on first use (journaled)
    /// with `balances` deposited and no engine fees (the host charges the instance's own
    /// fee on each fill, so the two books agree).
    pub fn strategy_account(&mut self, instance: &str, balances: &BTreeMap<String, Decimal>) -> AccountId {
        let name = format!("strategy:{instance}");
        if let Some(a) = self.users.get(&name) {
            return *a;
        }
        let account = AccountId(self.next_account);
        self.apply_entry(JournalEntry::User { name, account }, true);
        let zero = Decimal::ZERO;
        self.apply_entry(JournalEntry::Engine(Command::SetFees { account, maker_rate: zero, taker_rate: zero }), true);
        for (asset, amount) in balances {
            if *amount > Decimal::ZERO {
                let deposit = Command::Deposit { account, asset: asset.clone(), amount: amount.round_dp(12) };
                self.apply_entry(JournalEntry::Engine(deposit), true);
            }
        }
        account
    }

    /// The whole state as bytes (the engine with its books, wallets, stops and kept
    /// history; users; house quotes; alerts; daily counts): with the journal entries
    /// after it, a restart rebuilds the same exchange without replaying from the start.
    pub fn snapshot(&self) -> Result<Vec<u8>, String> {
        let state = SnapshotRef {
            version: SNAPSHOT_VERSION,
            engine: &self.engine,
            users: &self.users,
            next_account: self.next_account,
            house_quotes: self.house_quotes.iter().map(|(k, v)| (*k, *v)).collect(),
            book_fed: self.book_fed.iter().copied().collect(),
            alerts: &self.alerts,
            daily: self.daily.iter().map(|(k, v)| (*k, *v)).collect(),
            links: self.links.iter().map(|(k, v)| (*k, *v)).collect(),
        };
        serde_json::to_vec(&state).map_err(|e| e.to_string())
    }

    /// Restore what [`Exchange::snapshot`] made (the settings stay this exchange's).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: SnapshotOwned =
            serde_json::from_slice(bytes).map_err(|e| format!("unreadable exchange snapshot: {e}"))?;
        if s.version != SNAPSHOT_VERSION {
            return Err(format!("exchange snapshot version {} (this build reads {SNAPSHOT_VERSION})", s.version));
        }
        self.engine = s.engine;
        self.engine.exempt_from_history(HOUSE);
        self.names = s.users.iter().map(|(n, a)| (*a, n.clone())).collect();
        self.users = s.users;
        self.next_account = s.next_account;
        self.house_quotes = s.house_quotes.into_iter().collect();
        self.book_fed = s.book_fed.into_iter().collect();
        self.alerts = s.alerts;
        self.daily = s.daily.into_iter().collect();
        self.host_links = s.links.iter().map(|(e, h)| (*h, OrderId(*e))).collect();
        self.links = s.links.into_iter().collect();
        Ok(())
    }

    /// Replay a journal (restart): the same inputs rebuild the same state.
    pub fn replay(&mut self, entries: Vec<JournalEntry>) {
        for e in entries {
            self.apply_entry(e, false);
        }
        self.events.clear();
        self.fired.clear();
    }

    /// Journal lines written since the last call.
    pub fn take_journal(&mut self) -> Vec<String> {
        std::mem::take(&mut self.journal)
    }

    /// Apply one input, journaling it unless replaying.
    pub fn apply_entry(&mut self, entry: JournalEntry, journal: bool) -> Vec<Event> {
        if journal && let Ok(line) = serde_json::to_string(&entry) {
            self.journal.push(line);
        }
        let mut out = Vec::new();
        match entry {
            JournalEntry::Engine(cmd) => self.engine.apply_into(&cmd, &mut out),
            JournalEntry::User { name, account } => {
                self.next_account = self.next_account.max(account.0 + 1);
                self.names.insert(account, name.clone());
                self.users.insert(name, account);
            }
            JournalEntry::Alert { alert, price, time_ms } => {
                self.last_alert = Some(self.alerts.add(alert, price, time_ms));
            }
            JournalEntry::Book { symbol, bid, bid_qty, ask, ask_qty, time_ms } => {
                self.book(&symbol, [bid, bid_qty, ask, ask_qty], time_ms, &mut out)
            }
            JournalEntry::Link { engine_order, host_order } => {
                self.links.insert(engine_order.0, host_order);
                self.host_links.insert(host_order, engine_order);
            }
            JournalEntry::Tick { symbol, price, time_ms } => {
                self.tick(&symbol, price, time_ms, &mut out);
                if let Some(view) = self.engine.pair_id(&symbol).and_then(|p| self.engine.pair(p))
                    && matches!(view.quote.as_str(), "USDT" | "USD" | "USDC" | "FDUSD")
                {
                    for a in self.alerts.on_price(&view.base, price, time_ms) {
                        self.fired.push((a, price, time_ms));
                    }
                }
            }
        }
        self.events.extend(out.iter().cloned());
        out
    }

    /// List a pair (and fund the house for it) if it is not listed yet.
    pub fn ensure_pair(&mut self, symbol: &str, base: &str, quote: &str) -> Option<PairId> {
        if let Some(id) = self.engine.pair_id(symbol) {
            return Some(id);
        }
        self.apply_entry(JournalEntry::Engine(Command::AddPair(default_filters(symbol, base))), true);
        for asset in [base, quote] {
            let amount = Decimal::from(1_000_000_000_000i64);
            self.apply_entry(
                JournalEntry::Engine(Command::Deposit { account: HOUSE, asset: asset.into(), amount }),
                true,
            );
        }
        self.engine.pair_id(symbol)
    }

    /// A market trade: stops fire, the house re-quotes around it, alerts are checked.
    pub fn on_market_trade(&mut self, symbol: &str, price: Decimal, time_ms: i64) {
        if self.engine.pair_id(symbol).is_some() {
            self.apply_entry(JournalEntry::Tick { symbol: symbol.into(), price, time_ms }, true);
        }
    }

    /// Add a price alert (journaled, so it survives a restart with its state).
    pub fn add_alert(
        &mut self,
        alert: crate::alerts::NewAlert,
        price: Option<Decimal>,
        time_ms: i64,
    ) -> Result<Alert, String> {
        // Validate first so that a refused alert is not journaled.
        crate::alerts::Alerts::default().add(alert.clone(), price, time_ms)?;
        self.apply_entry(JournalEntry::Alert { alert, price, time_ms }, true);
        self.last_alert.take().unwrap_or_else(|| Err("alert not recorded".into()))
    }

    fn tick(&mut self, symbol: &str, price: Decimal, time_ms: i64, out: &mut Vec<Event>) {
        let Some(pair) = self.engine.pair_id(symbol) else { return };
        let Some(view) = self.engine.pair(pair) else { return };
        let tick = view.config.tick_size;
        let on_grid = (price / tick).floor() * tick;
        self.engine.apply_into(&Command::MarketTrade { pair, price: on_grid, time_ms }, out);
        if self.book_fed.contains(&pair) {
            return;
        }
        let h = self.settings.half_spread;
        let qty = self.settings.house_qty;
        let bid = on_grid * (Decimal::ONE - h);
        let ask = on_grid * (Decimal::ONE + h);
        self.requote(pair, [bid, qty, ask, qty], time_ms, out);
    }

    fn book(&mut self, symbol: &str, quote: [Decimal; 4], time_ms: i64, out: &mut Vec<Event>) {
        let Some(pair) = self.engine.pair_id(symbol) else { return };
        self.book_fed.insert(pair);
        self.requote(pair, quote, time_ms, out);
    }

    /// Replace the house quotes of a pair with `[bid, bid qty, ask, ask qty]`, snapped to
    /// the pair's grid (bids down, asks up, sizes down); unchanged quotes stay as they are.
    fn requote(&mut self, pair: PairId, quote: [Decimal; 4], time_ms: i64, out: &mut Vec<Event>) {
        let Some(view) = self.engine.pair(pair) else { return };
        let (tick, step) = (view.config.tick_size, view.config.step_size);
        let snapped = [
            (quote[0] / tick).floor() * tick,
            (quote[1] / step).floor() * step,
            (quote[2] / tick).ceil() * tick,
            (quote[3] / step).floor() * step,
        ];
        let (current, bid_id, ask_id) =
            self.house_quotes.get(&pair).copied().unwrap_or(([Decimal::ZERO; 4], None, None));
        if current == snapped {
            return;
        }
        for id in [bid_id, ask_id].into_iter().flatten() {
            self.engine.apply_into(&Command::Cancel { account: HOUSE, order_id: id, time_ms }, out);
        }
        let [bid, bid_qty, ask, ask_qty] = snapped;
        let bid_id = (bid > Decimal::ZERO && bid_qty > Decimal::ZERO)
            .then(|| self.place_house(NewOrder::limit(HOUSE, pair, Side::Buy, bid, bid_qty, time_ms), out))
            .flatten();
        let ask_id = (ask > Decimal::ZERO && ask_qty > Decimal::ZERO)
            .then(|| self.place_house(NewOrder::limit(HOUSE, pair, Side::Sell, ask, ask_qty, time_ms), out))
            .flatten();
        self.house_quotes.insert(pair, (snapped, bid_id, ask_id));
    }

    /// The market's best bid/ask: the house quotes it from now on.
    pub fn on_book(&mut self, symbol: &str, quote: [Decimal; 4], time_ms: i64) {
        if self.engine.pair_id(symbol).is_some() {
            let [bid, bid_qty, ask, ask_qty] = quote;
            self.apply_entry(JournalEntry::Book { symbol: symbol.into(), bid, bid_qty, ask, ask_qty, time_ms }, true);
        }
    }

    fn place_house(&mut self, order: NewOrder, out: &mut Vec<Event>) -> Option<OrderId> {
        let start = out.len();
        self.engine.apply_into(&Command::Place(order), out);
        out[start..].iter().find_map(|e| match e {
            Event::Order(u)
                if u.account == HOUSE && matches!(u.status, OrderStatus::New | OrderStatus::PartiallyFilled) =>
            {
                Some(u.order_id)
            }
            _ => None,
        })
    }

    /// The account of a user, created (and funded with the initial balances) on first use.
    pub fn user(&mut self, name: &str) -> AccountId {
        if let Some(a) = self.users.get(name) {
            return *a;
        }
        let account = AccountId(self.next_account);
        self.apply_entry(JournalEntry::User { name: name.into(), account }, true);
        for (asset, amount) in self.settings.initial_balances.clone() {
            self.apply_entry(JournalEntry::Engine(Command::Deposit { account, asset, amount }), true);
        }
        account
    }

    /// The account of a known user.
    pub fn known_user(&self, name: &str) -> Option<AccountId> {
        self.users.get(name).copied()
    }

    /// The user name of an account (`house` for the house, `fees` for the fee account).
    pub fn user_name(&self, account: AccountId) -> String {
        match account {
            HOUSE => "house".into(),
            a if a == self.engine.fee_account() => "fees".into(),
            a => self.names.get(&a).cloned().unwrap_or_else(|| format!("account_{a}")),
        }
    }

    /// Every user name.
    pub fn users(&self) -> Vec<String> {
        let mut v: Vec<String> = self.users.keys().cloned().collect();
        v.sort();
        v
    }

    /// Count an order against the user's daily limit; the error is the refusal.
    pub fn count_daily(&mut self, account: AccountId, time_ms: i64) -> Result<(), String> {
        let day = time_ms.div_euclid(86_400_000);
        let n = self.daily.entry((account, day)).or_insert(0);
        if self.settings.max_daily_trades > 0 && *n >= self.settings.max_daily_trades {
            return Err(format!("MAX_DAILY_TRADES: at most {} orders per UTC day", self.settings.max_daily_trades));
        }
        *n += 1;
        Ok(())
    }
}

impl ExchangeSettings {
    /// Defaults, with the seed's `MIN_ORDER_SIZE`, `MAX_ORDER_SIZE` and
    /// `MAX_DAILY_TRADES` from the environment when set.
    pub fn from_env() -> Self {
        let mut s = ExchangeSettings::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("MIN_ORDER_SIZE").and_then(|v| v.trim().parse().ok()) {
            s.min_order_size = v;
        }
        if let Some(v) = var("MAX_ORDER_SIZE").and_then(|v| v.trim().parse().ok()) {
            s.max_order_size = Some(v);
        }
        if let Some(v) = var("MAX_DAILY_TRADES").and_then(|v| v.trim().parse().ok()) {
            s.max_daily_trades = v;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{NewOrder, OrderType};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// Everything observable of an exchange, in a stable order.
    fn state(x: &Exchange) -> String {
        let mut out = Vec::new();
        let mut users = x.users();
        users.sort();
        for u in users {
            let a = x.known_user(&u).unwrap();
            out.push(format!("{u} {:?}", x.engine.balances(a)));
            let mut open = x.engine.open_orders(Some(a), None);
            open.sort_by_key(|o| o.id);
            out.push(format!("{open:?}"));
            let mut closed = x.engine.closed_orders(Some(a), None);
            closed.sort_by_key(|o| o.id);
            out.push(format!("{closed:?}"));
        }
        for p in 0..2 {
            out.push(format!("{:?}", x.engine.depth(PairId(p), 10)));
        }
        out.push(format!("{:?} {:?}", x.engine.next_order_id(), x.alerts));
        out.join("\n")
    }

    /// A stream of inputs: market trades (house quotes, stops), user orders of every kind.
    fn inputs(x: &mut Exchange, from: usize, to: usize) {
        x.ensure_pair("BTCUSDT", "BTC", "USDT");
        x.ensure_pair("ETHUSDT", "ETH", "USDT");
        let alice = x.user("alice");
        let bob = x.user("bob");
        for i in from..to {
            let t = 1_700_000_000_000 + i as i64 * 1_000;
            let px = d("60000") + Decimal::from((i * 37 % 200) as i64) - Decimal::from(100);
            x.on_market_trade("BTCUSDT", px, t);
            x.on_market_trade("ETHUSDT", px / Decimal::from(20), t);
            let btc = PairId(0);
            let cmd = match i % 5 {
                0 => NewOrder::limit(alice, btc, Side::Buy, (px - Decimal::from(50)).round_dp(2), d("0.01"), t),
                1 => NewOrder::market(bob, btc, Side::Buy, d("0.002"), t),
                2 => NewOrder::stop(bob, btc, Side::Sell, OrderType::StopLoss, px - Decimal::from(80), d("0.001"), t),
                3 => NewOrder::limit(alice, btc, Side::Sell, (px + Decimal::from(70)).round_dp(2), d("0.003"), t),
                _ => NewOrder::market(alice, btc, Side::Sell, d("0.001"), t),
            };
            x.apply_entry(JournalEntry::Engine(Command::Place(cmd)), true);
            if i % 7 == 0 {
                let open = x.engine.open_orders(Some(alice), None);
                if let Some(o) = open.first() {
                    x.apply_entry(
                        JournalEntry::Engine(Command::Cancel { account: alice, order_id: o.id, time_ms: t }),
                        true,
                    );
                }
            }
        }
    }

    #[test]
    fn snapshot_plus_later_journal_equals_the_whole_journal() {
        let mut straight = Exchange::new(ExchangeSettings::default());
        inputs(&mut straight, 0, 300);
        let bytes = straight.snapshot().unwrap();
        let journal_before = straight.take_journal();
        inputs(&mut straight, 300, 600);
        let later: Vec<JournalEntry> =
            straight.take_journal().iter().map(|l| serde_json::from_str(l).unwrap()).collect();

        let mut restored = Exchange::new(ExchangeSettings::default());
        restored.restore(&bytes).unwrap();
        restored.replay(later.clone());
        assert_eq!(state(&restored), state(&straight));

        // And both equal a replay of the whole journal from nothing.
        let mut replayed = Exchange::new(ExchangeSettings::default());
        let all: Vec<JournalEntry> = journal_before.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        replayed.replay(all);
        replayed.replay(later);
        assert_eq!(state(&replayed), state(&straight));
        assert!(state(&straight).contains("Filled"), "the stream trades");
        assert!(restored.restore(b"{\"version\": 99}").is_err());
    }
}
