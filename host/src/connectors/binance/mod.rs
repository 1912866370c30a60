//! Binance spot: REST v3 (HMAC-SHA256 signed query strings), combined market-data
//! streams, and the account's order updates over the WebSocket API
//! (`userDataStream.subscribe.signature`).
//!
//! | | testnet (default) | production |
//! | --- | --- | --- |
//! | REST | `https://testnet.binance.vision` | `https://api.binance.com` |
//! | streams | `wss://stream.testnet.binance.vision` | `wss://stream.binance.com:9443` |
//! | WebSocket API | `wss://ws-api.testnet.binance.vision` | `wss://ws-api.binance.com:443` |
//!
//! `rest_url` / `ws_url` / `ws_private_url` in the settings replace the base URLs; the
//! paths (`/api/v3/...`, `/stream?streams=...`, `/ws-api/v3`) are added here.
//!
//! Errors: `-2013` (and `-2011 Unknown order sent.`) are [`ConnectorError::OrderNotFound`],
//! `-2014`/`-2015`/`-1022` are [`ConnectorError::Auth`], `-1021` (timestamp outside the
//! receive window) re-reads the server time and retries the request once, everything
//! else is [`ConnectorError::Rejected`] with the code. A new order that fails on the
//! network or comes back as `-2010 Duplicate order sent.` is looked up by its client id
//! instead of being sent again.

pub mod parse;
pub mod sign;

use super::registry::ConnectorSettings;
use super::rest::{RateLimit, Request, RestClient, query_string};
use super::ws::{self, WsProtocol, WsTarget};
use super::*;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const EX: ExchangeId = ExchangeId::Binance;

/// Testnet REST base.
pub const TESTNET_REST: &str = "https://testnet.binance.vision";
/// Testnet market-data streams base.
pub const TESTNET_WS: &str = "wss://stream.testnet.binance.vision";
/// Testnet WebSocket API base.
pub const TESTNET_WS_API: &str = "wss://ws-api.testnet.binance.vision";
/// Production REST base.
pub const PROD_REST: &str = "https://api.binance.com";
/// Production market-data streams base.
pub const PROD_WS: &str = "wss://stream.binance.com:9443";
/// Production WebSocket API base.
pub const PROD_WS_API: &str = "wss://ws-api.binance.com:443";

/// Request weight per minute (Binance's `REQUEST_WEIGHT` limit).
const WEIGHT_PER_MINUTE: u32 = 6000;

struct Inner {
    settings: ConnectorSettings,
    rest: RestClient,
    ws_url: String,
    ws_api_url: String,
}

/// The Binance spot connector. Cheap to clone (shared state).
#[derive(Clone)]
pub struct BinanceConnector {
    inner: Arc<Inner>,
}

impl BinanceConnector {
    /// A connector with these settings (testnet unless `settings.testnet` is false).
    pub fn new(settings: ConnectorSettings) -> ConnectorResult<BinanceConnector> {
        let (rest, ws, ws_api) = if settings.testnet {
            (TESTNET_REST, TESTNET_WS, TESTNET_WS_API)
        } else {
            (PROD_REST, PROD_WS, PROD_WS_API)
        };
        let rest_url = settings.rest_url.clone().unwrap_or_else(|| rest.to_string());
        let ws_url = settings.ws_url.clone().unwrap_or_else(|| ws.to_string()).trim_end_matches('/').to_string();
        let ws_api_url =
            settings.ws_private_url.clone().unwrap_or_else(|| ws_api.to_string()).trim_end_matches('/').to_string();
        let rest =
            RestClient::new(EX, &rest_url, RateLimit { capacity: WEIGHT_PER_MINUTE, window: Duration::from_secs(60) });
        Ok(BinanceConnector { inner: Arc::new(Inner { settings, rest, ws_url, ws_api_url }) })
    }

    /// The REST client (clock offset, block state).
    pub fn rest(&self) -> &RestClient {
        &self.inner.rest
    }

    fn credentials(&self) -> ConnectorResult<&Credentials> {
        self.inner
            .settings
            .credentials
            .as_ref()
            .ok_or_else(|| ConnectorError::Auth { exchange: EX, reason: "no API key configured".into() })
    }

    fn decode(&self, reason: impl Into<String>) -> ConnectorError {
        self.inner.rest.decode(reason)
    }

    /// An unsigned GET (the key header is added when we have one: `historicalTrades`
    /// needs it).
    async fn public(&self, weight: u32, path: &str, params: &[(&str, String)]) -> ConnectorResult<Value> {
        let key = self.inner.settings.credentials.as_ref().map(|c| c.api_key.expose().to_string());
        let query = query_string(params);
        let resp = self
            .inner
            .rest
            .send(weight, |_| {
                let req = Request::new(reqwest::Method::GET, path).query(query);
                match key {
                    Some(k) => req.header("X-MBX-APIKEY", k),
                    None => req,
                }
            })
            .await?;
        self.answer(resp.status, &resp.body)
    }

    /// A SIGNED request: `recvWindow`, `timestamp` (server-clock estimate) and
    /// `signature` appended to the query. A `-1021` re-syncs the clock and retries once.
    /// `/api/v3/myTrades` with `params`, oldest first.
    async fn trades_where(&self, weight: u32, params: &[(&str, String)]) -> ConnectorResult<Vec<OwnTrade>> {
        let v = self.signed(reqwest::Method::GET, weight, "/api/v3/myTrades", params).await?;
        let mut trades = parse::my_trades(&v).map_err(|e| self.decode(e))?;
        trades.sort_by_key(|t| (t.time_ms, t.trade_id.parse::<u64>().unwrap_or_default()));
        Ok(trades)
    }

    async fn signed(
        &self,
        method: reqwest::Method,
        weight: u32,
        path: &str,
        params: &[(&str, String)],
    ) -> ConnectorResult<Value> {
        let creds = self.credentials()?;
        let recv_window = self.inner.settings.recv_window_ms;
        for attempt in 0..2 {
            let resp = self
                .inner
                .rest
                .send(weight, |now_ms| {
                    Request::new(method.clone(), path)
                        .query(sign::signed_query(creds.secret.expose(), params, recv_window, now_ms))
                        .header("X-MBX-APIKEY", creds.api_key.expose())
                })
                .await?;
            if attempt == 0 && parse::error(&resp.body).is_some_and(|(code, _)| code == -1021) {
                tracing::warn!(exchange = %EX, "timestamp outside recvWindow; re-syncing the clock and retrying");
                self.server_time().await?;
                continue;
            }
            return self.answer(resp.status, &resp.body);
        }
        unreachable!("the loop returns on its second pass")
    }

    /// A 2xx body as JSON, or the error it carries.
    fn answer(&self, status: u16, body: &str) -> ConnectorResult<Value> {
        if (200..300).contains(&status) {
            return parse::json(body).map_err(|e| self.decode(e));
        }
        Err(map_error(status, body))
    }

    async fn order_call(
        &self,
        method: reqwest::Method,
        symbol: &str,
        order: &OrderRef,
    ) -> ConnectorResult<ExchangeOrder> {
        let mut params = vec![("symbol", symbol.to_string())];
        match order {
            OrderRef::Exchange(id) => params.push(("orderId", id.clone())),
            OrderRef::Client(id) => params.push(("origClientOrderId", id.clone())),
        }
        let weight = if method == reqwest::Method::GET { 4 } else { 1 };
        let v = self.signed(method, weight, "/api/v3/order", &params).await?;
        parse::order(&v).map_err(|e| self.decode(e))
    }

    async fn send_order(&self, params: &[(&str, String)]) -> ConnectorResult<ExchangeOrder> {
        let v = self.signed(reqwest::Method::POST, 1, "/api/v3/order", params).await?;
        parse::order(&v).map_err(|e| self.decode(e))
    }
}

/// A non-2xx answer as a connector error (no request data, so no secret, is included).
fn map_error(status: u16, body: &str) -> ConnectorError {
    match parse::error(body) {
        Some((-2013, _)) => ConnectorError::OrderNotFound { exchange: EX },
        Some((-2011, msg)) if msg.contains("Unknown order") => ConnectorError::OrderNotFound { exchange: EX },
        Some((code @ (-2014 | -2015 | -1022), msg)) => {
            ConnectorError::Auth { exchange: EX, reason: format!("{code}: {msg}") }
        }
        Some((-1003, _)) => ConnectorError::RateLimited { exchange: EX, retry_after: Duration::from_secs(60) },
        Some((code, msg)) => ConnectorError::Rejected { exchange: EX, code: code.to_string(), message: msg },
        None if status == 401 || status == 403 => {
            ConnectorError::Auth { exchange: EX, reason: format!("HTTP {status}") }
        }
        None if status >= 500 => ConnectorError::Network { exchange: EX, reason: format!("HTTP {status}") },
        None => ConnectorError::Decode { exchange: EX, reason: format!("HTTP {status}: unexpected answer") },
    }
}

fn is_duplicate(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Rejected { code, message, .. } if code == "-2010" && message.contains("Duplicate"))
}

/// A decimal as Binance accepts it (no exponent, no trailing zeros).
fn num(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

#[async_trait]
impl Connector for BinanceConnector {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    fn testnet(&self) -> bool {
        self.inner.settings.testnet
    }
    fn market(&self) -> Market {
        self.inner.settings.market
    }

    async fn server_time(&self) -> ConnectorResult<i64> {
        let sent = RestClient::local_ms();
        let v = self.public(1, "/api/v3/time", &[]).await?;
        let received = RestClient::local_ms();
        let server = v.get("serverTime").and_then(Value::as_i64).ok_or_else(|| self.decode("time: no serverTime"))?;
        self.inner.rest.observe_server_time(server, sent, received);
        Ok(server)
    }

    async fn test_connection(&self) -> ConnectorResult<ConnectionReport> {
        super::probe(self, self.inner.settings.credentials.is_some(), &self.inner.rest).await
    }

    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>> {
        let v = self.public(20, "/api/v3/exchangeInfo", &[]).await?;
        parse::exchange_info(&v).map_err(|e| self.decode(e))
    }

    async fn ticker(&self, symbol: &str) -> ConnectorResult<Ticker> {
        let v = self.public(2, "/api/v3/ticker/24hr", &[("symbol", symbol.to_string())]).await?;
        parse::ticker(&v).map_err(|e| self.decode(e))
    }

    async fn order_book(&self, symbol: &str, depth: usize) -> ConnectorResult<OrderBook> {
        let limit = [5usize, 10, 20, 50, 100, 500, 1000, 5000].into_iter().find(|l| *l >= depth).unwrap_or(5000);
        let weight = match limit {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        };
        let v = self
            .public(weight, "/api/v3/depth", &[("symbol", symbol.to_string()), ("limit", limit.to_string())])
            .await?;
        let mut book = parse::order_book(symbol, &v).map_err(|e| self.decode(e))?;
        book.bids.truncate(depth);
        book.asks.truncate(depth);
        Ok(book)
    }

    async fn recent_trades(
        &self,
        symbol: &str,
        from_seq: Option<u64>,
        limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>> {
        let limit = limit.clamp(1, 1000).to_string();
        let v = match from_seq {
            Some(from) => {
                let params = [("symbol", symbol.to_string()), ("limit", limit), ("fromId", from.to_string())];
                self.public(25, "/api/v3/historicalTrades", &params).await?
            }
            None => self.public(25, "/api/v3/trades", &[("symbol", symbol.to_string()), ("limit", limit)]).await?,
        };
        parse::public_trades(symbol, &v).map_err(|e| self.decode(e))
    }

    async fn klines_1m(&self, symbol: &str, start_ms: i64, limit: usize) -> ConnectorResult<Vec<Kline>> {
        let params = [
            ("symbol", symbol.to_string()),
            ("interval", "1m".to_string()),
            ("startTime", start_ms.to_string()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let v = self.public(2, "/api/v3/klines", &params).await?;
        parse::klines(symbol, &v, self.inner.rest.now_ms()).map_err(|e| self.decode(e))
    }

    async fn balances(&self) -> ConnectorResult<Vec<Balance>> {
        let v = self.signed(reqwest::Method::GET, 20, "/api/v3/account", &[]).await?;
        parse::balances(&v).map_err(|e| self.decode(e))
    }

    async fn create_order(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        let mut params = vec![
            ("symbol", order.symbol.clone()),
            ("side", parse::side_name(order.side).to_string()),
            ("type", parse::order_type_name(order.order_type).to_string()),
        ];
        if order.order_type == OrderType::Limit {
            params.push(("timeInForce", order.time_in_force.as_str().to_string()));
        }
        params.push(("quantity", num(order.quantity)));
        if order.order_type != OrderType::Market {
            let price = order.limit_price()?;
            params.push(("price", num(price)));
        }
        params.push(("newClientOrderId", order.client_order_id.clone()));
        params.push(("newOrderRespType", "RESULT".to_string()));
        let by_client = OrderRef::Client(order.client_order_id.clone());
        super::submit_idempotent(
            EX,
            || async { self.send_order(&params).await.map(Some) },
            || self.get_order(&order.symbol, &by_client),
            is_duplicate,
        )
        .await
    }

    async fn get_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        self.order_call(reqwest::Method::GET, symbol, order).await
    }

    async fn cancel_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        self.order_call(reqwest::Method::DELETE, symbol, order).await
    }

    async fn open_orders(&self, symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>> {
        let (weight, params) = match symbol {
            Some(s) => (6, vec![("symbol", s.to_string())]),
            None => (80, vec![]),
        };
        let v = self.signed(reqwest::Method::GET, weight, "/api/v3/openOrders", &params).await?;
        let list = v.as_array().ok_or_else(|| self.decode("openOrders: expected an array"))?;
        list.iter().map(|o| parse::order(o).map_err(|e| self.decode(e))).collect()
    }

    async fn my_trades(&self, symbol: &str, limit: usize) -> ConnectorResult<Vec<OwnTrade>> {
        let params = [("symbol", symbol.to_string()), ("limit", limit.clamp(1, 1000).to_string())];
        self.trades_where(20, &params).await
    }

    async fn order_trades(&self, symbol: &str, order_id: &str) -> ConnectorResult<Vec<OwnTrade>> {
        // `orderId` weighs 5 instead of 20 and lists that order's trades only.
        let params = [("symbol", symbol.to_string()), ("orderId", order_id.to_string())];
        self.trades_where(5, &params).await
    }

    fn stream(&self, subscriptions: Vec<Subscription>, record: bool) -> ConnectorResult<StreamHandle> {
        let mut streams = Vec::new();
        let mut orders = false;
        for s in &subscriptions {
            match s {
                Subscription::Trades(sym) => streams.push(format!("{}@trade", sym.to_ascii_lowercase())),
                Subscription::Klines1m(sym) => streams.push(format!("{}@kline_1m", sym.to_ascii_lowercase())),
                Subscription::BookTicker(sym) => streams.push(format!("{}@bookTicker", sym.to_ascii_lowercase())),
                Subscription::Orders => orders = true,
            }
        }
        streams.dedup();
        let rest: Arc<dyn Connector> = Arc::new(self.clone());
        let public = (!streams.is_empty()).then(|| {
            let url = format!("{}/stream?streams={}", self.inner.ws_url, streams.join("/"));
            ws::spawn(MarketStream { url }, Some(rest.clone()), record)
        });
        let private = if orders {
            let creds = self.credentials()?.clone();
            let user = UserStream {
                url: format!("{}/ws-api/v3", self.inner.ws_api_url),
                credentials: creds,
                connector: self.clone(),
                next_id: 0,
            };
            Some(ws::spawn(user, None, record))
        } else {
            None
        };
        match (public, private) {
            (Some(a), Some(b)) => Ok(merge_streams(a, b, record)),
            (Some(a), None) | (None, Some(a)) => Ok(a),
            (None, None) => Err(ConnectorError::Rejected {
                exchange: EX,
                code: "NO_SUBSCRIPTIONS".into(),
                message: "nothing to subscribe to".into(),
            }),
        }
    }
}

/// Combined market-data streams; the stream names are in the URL, so every reconnect
/// subscribes again by itself.
struct MarketStream {
    url: String,
}

#[async_trait]
impl WsProtocol for MarketStream {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        Ok(WsTarget { url: self.url.clone(), ping_interval: Duration::from_secs(30) })
    }
    fn on_open(&mut self) -> Vec<String> {
        Vec::new()
    }
    fn ping(&mut self) -> Option<String> {
        None
    }
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        parse::market_frame(text, out).map(|()| None)
    }
    fn contiguous_trades(&self) -> bool {
        true
    }
}

/// The account's events over the WebSocket API: a signed
/// `userDataStream.subscribe.signature` after every (re)connect.
struct UserStream {
    url: String,
    credentials: Credentials,
    connector: BinanceConnector,
    next_id: u64,
}

impl UserStream {
    /// The subscribe request, signed with the server-clock estimate.
    fn subscribe_request(&mut self) -> String {
        self.next_id += 1;
        let mut params = vec![
            ("apiKey", self.credentials.api_key.expose().to_string()),
            ("recvWindow", self.connector.inner.settings.recv_window_ms.to_string()),
            ("timestamp", self.connector.inner.rest.now_ms().to_string()),
        ];
        let signature = sign::ws_api_signature(self.credentials.secret.expose(), &params);
        params.push(("signature", signature));
        let params: serde_json::Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| {
                let v = match k {
                    "recvWindow" | "timestamp" => Value::from(v.parse::<i64>().unwrap_or_default()),
                    _ => Value::from(v),
                };
                (k.to_string(), v)
            })
            .collect();
        serde_json::json!({
            "id": format!("uds-{}", self.next_id),
            "method": "userDataStream.subscribe.signature",
            "params": params,
        })
        .to_string()
    }
}

#[async_trait]
impl WsProtocol for UserStream {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        Ok(WsTarget { url: self.url.clone(), ping_interval: Duration::from_secs(30) })
    }
    fn on_open(&mut self) -> Vec<String> {
        vec![self.subscribe_request()]
    }
    fn ping(&mut self) -> Option<String> {
        None
    }
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        parse::user_frame(text, out).map(|()| None)
    }
}

/// One handle over two sessions (public market data and the private account stream):
/// events and raw frames of both, interleaved as they arrive. Aborting or dropping the
/// returned handle stops both sessions.
pub(crate) fn merge_streams(mut a: StreamHandle, mut b: StreamHandle, record: bool) -> StreamHandle {
    let (tx, events) = tokio::sync::mpsc::channel(65_536);
    let (raw_tx, raw) = if record {
        let (t, r) = tokio::sync::mpsc::channel(65_536);
        (Some(t), Some(r))
    } else {
        (None, None)
    };
    async fn recv_raw(r: &mut Option<tokio::sync::mpsc::Receiver<RawFrame>>) -> Option<RawFrame> {
        match r {
            Some(r) => r.recv().await,
            None => std::future::pending().await,
        }
    }
    let task = tokio::spawn(async move {
        let (mut a_open, mut b_open) = (true, true);
        while a_open || b_open {
            tokio::select! {
                ev = a.events.recv(), if a_open => match ev {
                    Some(ev) => if tx.send(ev).await.is_err() { return },
                    None => a_open = false,
                },
                ev = b.events.recv(), if b_open => match ev {
                    Some(ev) => if tx.send(ev).await.is_err() { return },
                    None => b_open = false,
                },
                Some(f) = recv_raw(&mut a.raw) => if let Some(t) = &raw_tx && t.send(f).await.is_err() { return },
                Some(f) = recv_raw(&mut b.raw) => if let Some(t) = &raw_tx && t.send(f).await.is_err() { return },
            }
        }
    });
    StreamHandle { events, raw, task }
}

/// The shared real-data directory (`../../shared/data` from the host crate). Fails
/// loudly when missing: a test on real data that silently passes proves nothing.
#[cfg(test)]
pub(crate) fn data_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    assert!(dir.is_dir(), "shared test data not found at {}", dir.display());
    dir
}

#[cfg(test)]
mod tests;
