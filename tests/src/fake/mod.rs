//! Local fake exchanges: one per venue (`binance`, `gateio`, `kucoin`, `bybit`), each an
//! axum server on 127.0.0.1 port 0 that speaks that venue's REST and WebSocket wire
//! format and verifies request signatures the way the real one documents. They share the
//! account and market state below: a trade history with ids, a simple order book of the
//! account's own orders (market orders fill at the last trade price, limit orders when a
//! trade reaches them), balances, and fault injection (dropped sockets, hidden trade ids,
//! 429/418 answers, a skewed clock).
//!
//! The signature checks here are written from the venues' documentation, independently
//! of the host's signing code, so a host that signs wrongly is refused.

pub mod binance;
pub mod bybit;
pub mod gateio;
pub mod kucoin;

use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Keys the fake accepts.
#[derive(Debug, Clone)]
pub struct FakeKeys {
    /// API key.
    pub api_key: String,
    /// Secret.
    pub secret: String,
    /// KuCoin passphrase.
    pub passphrase: String,
}

impl Default for FakeKeys {
    fn default() -> FakeKeys {
        FakeKeys {
            api_key: "fake-api-key-0123456789".into(),
            secret: "fake-secret-abcdefghijklmnop".into(),
            passphrase: "fake-passphrase".into(),
        }
    }
}

/// A public trade in the fake market.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTrade {
    /// Contiguous id per fake exchange, from 1000.
    pub id: u64,
    /// Host spelling, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// True when the buyer was the maker.
    pub buyer_maker: bool,
    /// Time, ms (server clock).
    pub time_ms: i64,
}

/// One minute of the fake market's trades, as every venue's kline endpoint reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBar {
    /// Start of the minute, ms.
    pub open_ms: i64,
    /// First, highest, lowest and last trade price.
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    /// Base and quote volume.
    pub volume: Decimal,
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trades: usize,
}

/// One of the account's orders.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    /// Exchange id.
    pub id: u64,
    /// Client order id.
    pub client_id: String,
    /// Host spelling.
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// `MARKET` or `LIMIT`.
    pub kind: String,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Quantity.
    pub qty: Decimal,
    /// Filled.
    pub filled: Decimal,
    /// Quote filled.
    pub filled_quote: Decimal,
    /// `NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`.
    pub status: String,
    /// Creation time, ms.
    pub created_ms: i64,
    /// Last update, ms.
    pub updated_ms: i64,
}

/// One of the account's fills.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeFill {
    /// Trade id.
    pub trade_id: u64,
    /// Order id.
    pub order_id: u64,
    /// Client order id.
    pub client_id: String,
    /// Host spelling.
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Fee.
    pub fee: Decimal,
    /// Fee asset.
    pub fee_asset: String,
    /// True when the order was resting.
    pub maker: bool,
    /// Time, ms.
    pub time_ms: i64,
}

/// What the fake pushes to WebSocket sessions.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum FakeEvent {
    /// A public trade.
    Trade(FakeTrade),
    /// An order changed (with the fill that changed it, if any).
    Order(FakeOrder, Option<FakeFill>),
    /// Close every socket now.
    Drop,
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeReject {
    /// Client order id already used.
    DuplicateClientId,
    /// Not enough free balance.
    InsufficientBalance,
    /// No such order.
    UnknownOrder,
    /// Bad parameters.
    BadRequest(String),
}

#[derive(Debug)]
struct Inner {
    skew_ms: i64,
    faults: VecDeque<(u16, Option<u64>)>,
    hide: u64,
    next_trade_id: u64,
    next_order_id: u64,
    next_fill_id: u64,
    trades: Vec<FakeTrade>,
    orders: Vec<FakeOrder>,
    fills: Vec<FakeFill>,
    balances: BTreeMap<String, (Decimal, Decimal)>,
    last: BTreeMap<String, Decimal>,
    signature_failures: usize,
    timestamp_rejections: usize,
    order_requests: usize,
    ws_connections: usize,
    log: Vec<String>,
    order_instants: Vec<std::time::Instant>,
}

/// The state shared by a fake's REST handlers and WebSocket sessions.
#[derive(Debug, Clone)]
pub struct FakeState {
    inner: Arc<Mutex<Inner>>,
    /// Notified whenever an order-placement request arrives (benchmarks wait on it).
    order_arrived: Arc<Condvar>,
    /// While true, order placements and cancels wait before being handled (a slow
    /// exchange, for tests of requests side by side); and how many wait.
    gate: Arc<tokio::sync::watch::Sender<bool>>,
    at_gate: Arc<std::sync::atomic::AtomicUsize>,
    events: broadcast::Sender<FakeEvent>,
    /// Keys it accepts.
    pub keys: FakeKeys,
}

/// Quote assets the fake knows when splitting a symbol.
const QUOTES: &[&str] = &["USDT", "USDC", "USD", "BTC", "ETH"];

/// Split `BTCUSDT` into (`BTC`, `USDT`).
pub fn split_symbol(symbol: &str) -> (String, String) {
    for q in QUOTES {
        if let Some(base) = symbol.strip_suffix(q).filter(|b| !b.is_empty()) {
            return (base.to_string(), q.to_string());
        }
    }
    (symbol.to_string(), String::new())
}

/// Maker and taker fee rate of the fake.
pub const FEE_RATE: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

impl FakeState {
    /// A market with no trades, an account with 10,000 USDT and 1 BTC and 10 ETH.
    pub fn new(keys: FakeKeys) -> FakeState {
        let mut balances = BTreeMap::new();
        balances.insert("USDT".to_string(), (Decimal::from(10_000), Decimal::ZERO));
        balances.insert("BTC".to_string(), (Decimal::ONE, Decimal::ZERO));
        balances.insert("ETH".to_string(), (Decimal::from(10), Decimal::ZERO));
        let (events, _) = broadcast::channel(65_536);
        FakeState {
            inner: Arc::new(Mutex::new(Inner {
                skew_ms: 0,
                faults: VecDeque::new(),
                hide: 0,
                next_trade_id: 1000,
                next_order_id: 5_000_000,
                next_fill_id: 9_000_000,
                trades: Vec::new(),
                orders: Vec::new(),
                fills: Vec::new(),
                balances,
                last: BTreeMap::new(),
                signature_failures: 0,
                timestamp_rejections: 0,
                order_requests: 0,
                ws_connections: 0,
                log: Vec::new(),
                order_instants: Vec::new(),
            })),
            order_arrived: Arc::new(Condvar::new()),
            gate: Arc::new(tokio::sync::watch::Sender::new(false)),
            at_gate: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            events,
            keys,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Events for a new WebSocket session.
    pub fn subscribe(&self) -> broadcast::Receiver<FakeEvent> {
        self.lock().ws_connections += 1;
        self.events.subscribe()
    }

    /// WebSocket sessions opened so far.
    pub fn ws_connections(&self) -> usize {
        self.lock().ws_connections
    }

    /// The fake's clock (local time plus the configured skew), ms.
    pub fn now_ms(&self) -> i64 {
        let local = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        local + self.lock().skew_ms
    }

    /// Run the server clock `ms` ahead of (or, negative, behind) the host's.
    pub fn set_clock_skew(&self, ms: i64) {
        self.lock().skew_ms = ms;
    }

    /// True when `ts_ms` is within `window_ms` of the server clock (and not more than
    /// 1 s ahead, as Binance documents); counts a rejection otherwise.
    pub fn check_timestamp(&self, ts_ms: i64, window_ms: i64) -> bool {
        let now = self.now_ms();
        let ok = ts_ms < now + 1000 && now - ts_ms <= window_ms;
        if !ok {
            self.lock().timestamp_rejections += 1;
        }
        ok
    }

    /// Count a request refused for its signature.
    pub fn signature_failed(&self) {
        self.lock().signature_failures += 1;
    }

    /// Requests refused for their signature so far.
    pub fn signature_failures(&self) -> usize {
        self.lock().signature_failures
    }

    /// Requests refused for their timestamp so far.
    pub fn timestamp_rejections(&self) -> usize {
        self.lock().timestamp_rejections
    }

    /// Answer the next REST requests with these statuses (e.g. 429 then 418), each with a
    /// `Retry-After` in seconds if given.
    pub fn fail_next(&self, status: u16, retry_after_s: Option<u64>) {
        self.lock().faults.push_back((status, retry_after_s));
    }

    /// The fault to answer the current request with, if one is queued.
    pub fn take_fault(&self) -> Option<(u16, Option<u64>)> {
        self.lock().faults.pop_front()
    }

    /// Record a request line (`POST /api/v3/order`) for assertions.
    pub fn log_request(&self, line: impl Into<String>) {
        self.lock().log.push(line.into());
    }

    /// Every request line so far.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// When each order-placement request reached the fake's handler (benchmarks).
    pub fn order_instants(&self) -> Vec<std::time::Instant> {
        self.lock().order_instants.clone()
    }

    /// Hold (true) or let through (false) order placements and cancels: held, each waits
    /// before the fake handles it, as on a slow exchange.
    pub fn hold_orders(&self, held: bool) {
        self.gate.send_replace(held);
    }

    /// Order placements and cancels waiting at the gate now.
    pub fn orders_held(&self) -> usize {
        self.at_gate.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wait while orders are held (called by a fake's handlers).
    pub async fn pass_gate(&self) {
        let mut rx = self.gate.subscribe();
        if !*rx.borrow() {
            return;
        }
        self.at_gate.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = rx.wait_for(|held| !held).await;
        self.at_gate.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Block until order-placement request number `n` (0-based) has arrived, up to
    /// `timeout`; when it arrived. A benchmark waits here instead of polling, so its
    /// thread takes no CPU while the host works.
    pub fn wait_order_instant(&self, n: usize, timeout: std::time::Duration) -> Option<std::time::Instant> {
        let deadline = std::time::Instant::now() + timeout;
        let mut g = self.lock();
        loop {
            if let Some(at) = g.order_instants.get(n) {
                return Some(*at);
            }
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            g = self.order_arrived.wait_timeout(g, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    /// Order-placement requests received (including refused ones).
    pub fn order_requests(&self) -> usize {
        self.lock().order_requests
    }

    /// The next `n` trades are recorded (REST sees them) but not pushed over WebSocket:
    /// the host sees an id gap.
    pub fn hide_next_trades(&self, n: u64) {
        self.lock().hide = n;
    }

    /// Close every WebSocket session.
    pub fn drop_connections(&self) {
        let _ = self.events.send(FakeEvent::Drop);
    }

    /// A public trade at `price` for `qty`; resting orders it reaches fill at their limit.
    pub fn push_trade(&self, symbol: &str, price: Decimal, qty: Decimal, buyer_maker: bool) -> FakeTrade {
        self.push_trade_at(symbol, price, qty, buyer_maker, self.now_ms())
    }

    /// A public trade stamped `time_ms` (to build chosen minutes without waiting for them).
    pub fn push_trade_at(
        &self,
        symbol: &str,
        price: Decimal,
        qty: Decimal,
        buyer_maker: bool,
        time_ms: i64,
    ) -> FakeTrade {
        let now = time_ms;
        let (trade, hidden, changed) = {
            let mut g = self.lock();
            let id = g.next_trade_id;
            g.next_trade_id += 1;
            let trade = FakeTrade { id, symbol: symbol.to_string(), price, qty, buyer_maker, time_ms: now };
            g.trades.push(trade.clone());
            g.last.insert(symbol.to_string(), price);
            let hidden = g.hide > 0;
            if hidden {
                g.hide -= 1;
            }
            let crossing: Vec<usize> = g
                .orders
                .iter()
                .enumerate()
                .filter(|(_, o)| {
                    o.symbol == symbol
                        && (o.status == "NEW" || o.status == "PARTIALLY_FILLED")
                        && o.price.is_some_and(|p| if o.side == "BUY" { price <= p } else { price >= p })
                })
                .map(|(i, _)| i)
                .collect();
            let mut changed = Vec::new();
            for i in crossing {
                let p = g.orders[i].price.unwrap_or(price);
                let q = g.orders[i].qty - g.orders[i].filled;
                changed.push(fill(&mut g, i, p, q, true, now));
            }
            (trade, hidden, changed)
        };
        if !hidden {
            let _ = self.events.send(FakeEvent::Trade(trade.clone()));
        }
        for (o, f) in changed {
            let _ = self.events.send(FakeEvent::Order(o, Some(f)));
        }
        trade
    }

    /// Trades of `symbol` with id >= `from` (or the newest `limit` when `from` is None),
    /// oldest first.
    pub fn trades(&self, symbol: &str, from: Option<u64>, limit: usize) -> Vec<FakeTrade> {
        let g = self.lock();
        let all: Vec<FakeTrade> = g.trades.iter().filter(|t| t.symbol == symbol).cloned().collect();
        match from {
            Some(f) => all.into_iter().filter(|t| t.id >= f).take(limit).collect(),
            None => all[all.len().saturating_sub(limit)..].to_vec(),
        }
    }

    /// Every minute of `symbol` with trades, oldest first.
    pub fn minute_bars(&self, symbol: &str) -> Vec<FakeBar> {
        let mut minutes: BTreeMap<i64, Vec<FakeTrade>> = BTreeMap::new();
        for t in self.trades(symbol, None, usize::MAX) {
            minutes.entry(t.time_ms - t.time_ms.rem_euclid(60_000)).or_default().push(t);
        }
        minutes
            .into_iter()
            .map(|(open_ms, ts)| FakeBar {
                open_ms,
                open: ts[0].price,
                high: ts.iter().map(|t| t.price).max().unwrap_or_default(),
                low: ts.iter().map(|t| t.price).min().unwrap_or_default(),
                close: ts[ts.len() - 1].price,
                volume: ts.iter().map(|t| t.qty).sum(),
                quote_volume: ts.iter().map(|t| t.qty * t.price).sum(),
                trades: ts.len(),
            })
            .collect()
    }

    /// Last trade price.
    pub fn last_price(&self, symbol: &str) -> Option<Decimal> {
        self.lock().last.get(symbol).copied()
    }

    /// Place an order. Market orders fill at once at the last price; limit orders fill
    /// at once when the last price is at or through them, else rest.
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &self,
        client_id: &str,
        symbol: &str,
        side: &str,
        kind: &str,
        price: Option<Decimal>,
        qty: Decimal,
    ) -> Result<FakeOrder, FakeReject> {
        let now = self.now_ms();
        let (order, events) = {
            let mut g = self.lock();
            g.order_instants.push(std::time::Instant::now());
            self.order_arrived.notify_all();
            g.order_requests += 1;
            if !client_id.is_empty() && g.orders.iter().any(|o| o.client_id == client_id) {
                return Err(FakeReject::DuplicateClientId);
            }
            if qty <= Decimal::ZERO {
                return Err(FakeReject::BadRequest("quantity must be positive".into()));
            }
            let last = g.last.get(symbol).copied();
            let exec_price = match (kind, price) {
                ("MARKET", _) => Some(last.ok_or_else(|| FakeReject::BadRequest("no market price yet".into()))?),
                ("LIMIT", Some(p)) => last.filter(|l| if side == "BUY" { *l <= p } else { *l >= p }),
                ("LIMIT", None) => return Err(FakeReject::BadRequest("limit order without price".into())),
                (other, _) => return Err(FakeReject::BadRequest(format!("unsupported type {other}"))),
            };
            let (base, quote) = split_symbol(symbol);
            let reserve_price = price.or(last).unwrap_or_default();
            let (asset, need) = if side == "BUY" { (quote, reserve_price * qty) } else { (base, qty) };
            let free = g.balances.get(&asset).map(|b| b.0).unwrap_or_default();
            if free < need {
                return Err(FakeReject::InsufficientBalance);
            }
            if let Some(b) = g.balances.get_mut(&asset) {
                b.0 -= need;
                b.1 += need;
            }
            let id = g.next_order_id;
            g.next_order_id += 1;
            let order = FakeOrder {
                id,
                client_id: if client_id.is_empty() { format!("fake-{id}") } else { client_id.to_string() },
                symbol: symbol.to_string(),
                side: side.to_string(),
                kind: kind.to_string(),
                price,
                qty,
                filled: Decimal::ZERO,
                filled_quote: Decimal::ZERO,
                status: "NEW".into(),
                created_ms: now,
                updated_ms: now,
            };
            g.orders.push(order.clone());
            let i = g.orders.len() - 1;
            let mut events = vec![(order.clone(), None)];
            if let Some(p) = exec_price {
                let (o, f) = fill(&mut g, i, p, qty, false, now);
                events.push((o, Some(f)));
            }
            (g.orders[i].clone(), events)
        };
        for (o, f) in events {
            let _ = self.events.send(FakeEvent::Order(o, f));
        }
        Ok(order)
    }

    /// Find an order by exchange id or client id.
    pub fn find(&self, id: Option<u64>, client_id: Option<&str>) -> Option<FakeOrder> {
        self.lock()
            .orders
            .iter()
            .find(|o| id.is_some_and(|i| o.id == i) || client_id.is_some_and(|c| o.client_id == c))
            .cloned()
    }

    /// Cancel a working order.
    pub fn cancel(&self, id: Option<u64>, client_id: Option<&str>) -> Result<FakeOrder, FakeReject> {
        let now = self.now_ms();
        let order = {
            let mut g = self.lock();
            let i = g
                .orders
                .iter()
                .position(|o| id.is_some_and(|i| o.id == i) || client_id.is_some_and(|c| o.client_id == c))
                .ok_or(FakeReject::UnknownOrder)?;
            let o = g.orders[i].clone();
            if o.status != "NEW" && o.status != "PARTIALLY_FILLED" {
                return Err(FakeReject::UnknownOrder);
            }
            let (base, quote) = split_symbol(&o.symbol);
            let left = o.qty - o.filled;
            let (asset, amount) =
                if o.side == "BUY" { (quote, left * o.price.unwrap_or_default()) } else { (base, left) };
            if let Some(b) = g.balances.get_mut(&asset) {
                b.0 += amount;
                b.1 -= amount;
            }
            g.orders[i].status = "CANCELED".into();
            g.orders[i].updated_ms = now;
            g.orders[i].clone()
        };
        let _ = self.events.send(FakeEvent::Order(order.clone(), None));
        Ok(order)
    }

    /// Working orders, of one symbol or all.
    pub fn open_orders(&self, symbol: Option<&str>) -> Vec<FakeOrder> {
        self.lock()
            .orders
            .iter()
            .filter(|o| (o.status == "NEW" || o.status == "PARTIALLY_FILLED") && symbol.is_none_or(|s| o.symbol == s))
            .cloned()
            .collect()
    }

    /// Every order ever accepted.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.lock().orders.clone()
    }

    /// The account's fills in a symbol.
    pub fn fills(&self, symbol: Option<&str>) -> Vec<FakeFill> {
        self.lock().fills.iter().filter(|f| symbol.is_none_or(|s| f.symbol == s)).cloned().collect()
    }

    /// Balances: asset -> (free, locked).
    pub fn balances(&self) -> BTreeMap<String, (Decimal, Decimal)> {
        self.lock().balances.clone()
    }
}

/// Fill `qty` of order `i` at `price`; returns the order after the fill and the fill.
fn fill(g: &mut Inner, i: usize, price: Decimal, qty: Decimal, maker: bool, now: i64) -> (FakeOrder, FakeFill) {
    let trade_id = g.next_fill_id;
    g.next_fill_id += 1;
    let o = &mut g.orders[i];
    o.filled += qty;
    o.filled_quote += price * qty;
    o.status = if o.filled >= o.qty { "FILLED".into() } else { "PARTIALLY_FILLED".into() };
    o.updated_ms = now;
    let o = o.clone();
    let (base, quote) = split_symbol(&o.symbol);
    let reserved_price = o.price.unwrap_or(price);
    let (fee, fee_asset) = if o.side == "BUY" {
        let fee = (qty * FEE_RATE).round_dp(8);
        // Spend quote from the lock (release the difference to a better price), receive base.
        release(g, &quote, reserved_price * qty, price * qty);
        credit(g, &base, qty - fee);
        (fee, base)
    } else {
        let fee = (price * qty * FEE_RATE).round_dp(8);
        release(g, &base, qty, qty);
        credit(g, &quote, price * qty - fee);
        (fee, quote)
    };
    let f = FakeFill {
        trade_id,
        order_id: o.id,
        client_id: o.client_id.clone(),
        symbol: o.symbol.clone(),
        side: o.side.clone(),
        price,
        qty,
        fee,
        fee_asset,
        maker,
        time_ms: now,
    };
    g.fills.push(f.clone());
    (o, f)
}

fn release(g: &mut Inner, asset: &str, locked: Decimal, spent: Decimal) {
    if let Some(b) = g.balances.get_mut(asset) {
        b.1 -= locked;
        b.0 += locked - spent;
    }
}

fn credit(g: &mut Inner, asset: &str, amount: Decimal) {
    g.balances.entry(asset.to_string()).or_insert((Decimal::ZERO, Decimal::ZERO)).0 += amount;
}

/// Listen on 127.0.0.1, port 0, and serve `app`; returns the bound address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        // As an exchange's servers do: small frames (trades, order events) go out at once.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A running fake exchange.
#[derive(Debug, Clone)]
pub struct FakeExchange {
    /// Its state (push trades, inject faults, inspect orders).
    pub state: FakeState,
    /// `http://127.0.0.1:PORT`.
    pub rest_url: String,
    /// `ws://127.0.0.1:PORT`.
    pub ws_url: String,
}

impl FakeExchange {
    /// Wrap a bound server.
    pub fn new(state: FakeState, addr: std::net::SocketAddr) -> FakeExchange {
        FakeExchange { state, rest_url: format!("http://{addr}"), ws_url: format!("ws://{addr}") }
    }

    /// Environment variables pointing the host's connector at this fake, with its keys:
    /// `<PREFIX>_REST_URL`, `_WS_URL`, `_WS_PRIVATE_URL`, `_API_KEY`, `_SECRET_KEY`, `_PASSPHRASE`.
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (format!("{prefix}_REST_URL"), self.rest_url.clone()),
            (format!("{prefix}_WS_URL"), self.ws_url.clone()),
            (format!("{prefix}_WS_PRIVATE_URL"), self.ws_url.clone()),
            (format!("{prefix}_API_KEY"), self.state.keys.api_key.clone()),
            (format!("{prefix}_SECRET_KEY"), self.state.keys.secret.clone()),
            (format!("{prefix}_PASSPHRASE"), self.state.keys.passphrase.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn orders_fill_and_balances_move_with_fees() {
        let s = FakeState::new(FakeKeys::default());
        s.push_trade("BTCUSDT", d("60000"), d("0.1"), false);
        let o = s.place("c1", "BTCUSDT", "BUY", "MARKET", None, d("0.01")).unwrap();
        assert_eq!(o.status, "FILLED");
        assert_eq!(s.place("c1", "BTCUSDT", "BUY", "MARKET", None, d("0.01")), Err(FakeReject::DuplicateClientId));
        let b = s.balances();
        assert_eq!(b["USDT"], (d("9400"), d("0")));
        assert_eq!(b["BTC"].0, d("1.00999"));
        let l = s.place("c2", "BTCUSDT", "SELL", "LIMIT", Some(d("61000")), d("0.5")).unwrap();
        assert_eq!(l.status, "NEW");
        assert_eq!(s.balances()["BTC"].1, d("0.5"));
        s.push_trade("BTCUSDT", d("61000"), d("1"), false);
        assert_eq!(s.find(Some(l.id), None).unwrap().status, "FILLED");
        assert_eq!(s.balances()["USDT"].0, d("9400") + d("30500") - d("30.5"));
        assert_eq!(s.cancel(Some(l.id), None), Err(FakeReject::UnknownOrder));
    }

    #[test]
    fn hidden_trades_are_in_the_history_only() {
        let s = FakeState::new(FakeKeys::default());
        let mut rx = s.subscribe();
        s.hide_next_trades(2);
        for p in ["1", "2", "3"] {
            s.push_trade("ETHUSDT", d(p), d("1"), true);
        }
        let FakeEvent::Trade(t) = rx.try_recv().unwrap() else { panic!("expected a trade") };
        assert_eq!(t.id, 1002);
        assert_eq!(s.trades("ETHUSDT", Some(1000), 10).len(), 3);
        assert_eq!(s.trades("ETHUSDT", None, 2).iter().map(|t| t.id).collect::<Vec<_>>(), [1001, 1002]);
    }
}
