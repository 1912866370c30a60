//! Bybit v5 (unified API), spot or linear (USDT perpetuals) by `settings.market`.
//!
//! | | testnet (default) | production |
//! | --- | --- | --- |
//! | REST | `https://api-testnet.bybit.com` | `https://api.bybit.com` |
//! | WebSocket | `wss://stream-testnet.bybit.com` | `wss://stream.bybit.com` |
//!
//! Public streams live on `/v5/public/spot` or `/v5/public/linear`, the account's on
//! `/v5/private` (after a signed `auth` op). `rest_url` / `ws_url` / `ws_private_url`
//! replace the base URLs; the paths are added here.
//!
//! Errors come in the `retCode` envelope: 10003/10004/10005 are
//! [`ConnectorError::Auth`], 110001 (and spot's 170213) [`ConnectorError::OrderNotFound`],
//! 10006/10018 [`ConnectorError::RateLimited`], 10002 (timestamp outside the receive
//! window) re-reads the server time and retries once; anything else is
//! [`ConnectorError::Rejected`]. A new order that fails on the network or as a duplicate
//! `orderLinkId` (110072) is looked up by its link id instead of being sent again.
//!
//! Trades carry Bybit's `seq` (cross sequence): monotonic but not contiguous, so gaps are
//! not detectable and only duplicates are dropped; after a reconnect the recent trades
//! are fetched over REST and those newer than the last one seen delivered.

pub mod parse;
pub mod sign;

use super::registry::ConnectorSettings;
use super::rest::{RateLimit, Request, RestClient, query_string};
use super::ws::{self, WsProtocol, WsTarget};
use super::*;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const EX: ExchangeId = ExchangeId::Bybit;

/// Testnet REST base.
pub const TESTNET_REST: &str = "https://api-testnet.bybit.com";
/// Testnet WebSocket base.
pub const TESTNET_WS: &str = "wss://stream-testnet.bybit.com";
/// Production REST base.
pub const PROD_REST: &str = "https://api.bybit.com";
/// Production WebSocket base.
pub const PROD_WS: &str = "wss://stream.bybit.com";

/// Heartbeat Bybit asks for.
const PING_INTERVAL: Duration = Duration::from_secs(20);

struct Inner {
    settings: ConnectorSettings,
    rest: RestClient,
    ws_url: String,
    ws_private_url: String,
}

/// The Bybit v5 connector. Cheap to clone (shared state).
#[derive(Clone)]
pub struct BybitConnector {
    inner: Arc<Inner>,
}

impl BybitConnector {
    /// A connector with these settings (testnet unless `settings.testnet` is false).
    pub fn new(settings: ConnectorSettings) -> ConnectorResult<BybitConnector> {
        let (rest, ws) = if settings.testnet { (TESTNET_REST, TESTNET_WS) } else { (PROD_REST, PROD_WS) };
        let rest_url = settings.rest_url.clone().unwrap_or_else(|| rest.to_string());
        let ws_url = settings.ws_url.clone().unwrap_or_else(|| ws.to_string()).trim_end_matches('/').to_string();
        let ws_private_url =
            settings.ws_private_url.clone().unwrap_or_else(|| ws.to_string()).trim_end_matches('/').to_string();
        let rest = RestClient::new(EX, &rest_url, RateLimit { capacity: 600, window: Duration::from_secs(5) });
        Ok(BybitConnector { inner: Arc::new(Inner { settings, rest, ws_url, ws_private_url }) })
    }

    /// The REST client (clock offset, block state).
    pub fn rest(&self) -> &RestClient {
        &self.inner.rest
    }

    /// `spot` or `linear`.
    pub fn category(&self) -> &'static str {
        match self.inner.settings.market {
            Market::Spot => "spot",
            Market::Futures => "linear",
        }
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

    async fn public(&self, path: &str, params: &[(&str, String)]) -> ConnectorResult<Value> {
        let query = query_string(params);
        let resp = self.inner.rest.send(1, |_| Request::new(reqwest::Method::GET, path).query(query)).await?;
        self.answer(resp.status, &resp.body).map(|e| e.result)
    }

    /// A signed GET (`params` as the query) or POST (`body` as raw JSON). A 10002
    /// (timestamp) re-syncs the clock and retries once.
    async fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, String)],
        body: Option<&Value>,
    ) -> ConnectorResult<parse::Envelope> {
        let creds = self.credentials()?;
        let window = self.inner.settings.recv_window_ms;
        let query = query_string(params);
        let body = body.map(Value::to_string).unwrap_or_default();
        for attempt in 0..2 {
            let resp = self
                .inner
                .rest
                .send(1, |now_ms| {
                    let key = creds.api_key.expose();
                    let payload = if method == reqwest::Method::GET { &query } else { &body };
                    let signature = sign::rest_signature(creds.secret.expose(), now_ms, key, window, payload);
                    let mut req = Request::new(method.clone(), path)
                        .header("X-BAPI-API-KEY", key)
                        .header("X-BAPI-TIMESTAMP", now_ms.to_string())
                        .header("X-BAPI-RECV-WINDOW", window.to_string())
                        .header("X-BAPI-SIGN", signature);
                    if method == reqwest::Method::GET {
                        req = req.query(query.clone());
                    } else {
                        req = req.json_body(body.clone());
                    }
                    req
                })
                .await?;
            if attempt == 0 && parse::envelope(&resp.body).is_ok_and(|e| e.code == 10002) {
                tracing::warn!(exchange = %EX, "timestamp outside recv_window; re-syncing the clock and retrying");
                self.server_time().await?;
                continue;
            }
            return self.answer(resp.status, &resp.body);
        }
        unreachable!("the loop returns on its second pass")
    }

    fn answer(&self, status: u16, body: &str) -> ConnectorResult<parse::Envelope> {
        match parse::envelope(body) {
            Ok(e) if e.code == 0 => Ok(e),
            Ok(e) => Err(map_error(e.code, e.message)),
            Err(_) if status == 401 => Err(ConnectorError::Auth { exchange: EX, reason: format!("HTTP {status}") }),
            Err(_) if status == 403 => {
                Err(ConnectorError::RateLimited { exchange: EX, retry_after: Duration::from_secs(60) })
            }
            Err(_) if status >= 500 => Err(ConnectorError::Network { exchange: EX, reason: format!("HTTP {status}") }),
            Err(e) => Err(self.decode(format!("HTTP {status}: {e}"))),
        }
    }

    fn order_id_param(order: &OrderRef) -> (&'static str, String) {
        match order {
            OrderRef::Exchange(id) => ("orderId", id.clone()),
            OrderRef::Client(id) => ("orderLinkId", id.clone()),
        }
    }

    async fn send_order(&self, body: &Value) -> ConnectorResult<()> {
        self.signed(reqwest::Method::POST, "/v5/order/create", &[], Some(body)).await.map(|_| ())
    }
}

/// A non-zero `retCode` as a connector error.
fn map_error(code: i64, message: String) -> ConnectorError {
    match code {
        10003 | 10004 | 10005 | 10007 | 10009 | 10010 | 33004 => {
            ConnectorError::Auth { exchange: EX, reason: format!("{code}: {message}") }
        }
        110001 | 170213 => ConnectorError::OrderNotFound { exchange: EX },
        10006 | 10018 => ConnectorError::RateLimited { exchange: EX, retry_after: Duration::from_secs(1) },
        _ => ConnectorError::Rejected { exchange: EX, code: code.to_string(), message },
    }
}

/// `110072` "OrderLinkedID is duplicate" (and spot's `170141` "Duplicate clientOrderId").
/// Only these: other codes whose message says "duplicate" (`10014` "Invalid duplicate
/// request", ...) are refusals, not an order that already exists.
fn is_duplicate(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Rejected { code, .. } if code == "110072" || code == "170141")
}

fn num(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

impl BybitConnector {
    /// `/v5/execution/list` with `params`, oldest first.
    async fn executions_where(&self, params: &[(&str, String)]) -> ConnectorResult<Vec<OwnTrade>> {
        let env = self.signed(reqwest::Method::GET, "/v5/execution/list", params, None).await?;
        let list =
            env.result.get("list").and_then(Value::as_array).ok_or_else(|| self.decode("executions: no list"))?;
        let mut trades: Vec<OwnTrade> =
            list.iter().map(|t| parse::execution(t).map_err(|e| self.decode(e))).collect::<ConnectorResult<_>>()?;
        if self.category() == "linear" {
            // Rows name no fee coin on derivatives: it is the settle coin.
            for t in trades.iter_mut().filter(|t| t.fee_asset.is_empty()) {
                t.fee_asset = parse::settle_coin(&t.symbol).to_string();
            }
        }
        trades.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.trade_id.cmp(&b.trade_id)));
        Ok(trades)
    }
}

#[async_trait]
impl Connector for BybitConnector {
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
        let resp = self.inner.rest.send(1, |_| Request::new(reqwest::Method::GET, "/v5/market/time")).await?;
        let received = RestClient::local_ms();
        let env = self.answer(resp.status, &resp.body)?;
        let nanos = env.result.get("timeNano").and_then(Value::as_str).and_then(|n| n.parse::<i128>().ok());
        let server = match (nanos, env.time) {
            (Some(n), _) => (n / 1_000_000) as i64,
            (None, Some(t)) => t,
            (None, None) => return Err(self.decode("time: no timeNano")),
        };
        self.inner.rest.observe_server_time(server, sent, received);
        Ok(server)
    }

    async fn test_connection(&self) -> ConnectorResult<ConnectionReport> {
        super::probe(self, self.inner.settings.credentials.is_some(), &self.inner.rest).await
    }

    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>> {
        let params = [("category", self.category().to_string()), ("limit", "1000".to_string())];
        let result = self.public("/v5/market/instruments-info", &params).await?;
        parse::instruments(&result).map_err(|e| self.decode(e))
    }

    async fn ticker(&self, symbol: &str) -> ConnectorResult<Ticker> {
        let params = [("category", self.category().to_string()), ("symbol", symbol.to_string())];
        let result = self.public("/v5/market/tickers", &params).await?;
        parse::ticker(&result).map_err(|e| self.decode(e))
    }

    async fn order_book(&self, symbol: &str, depth: usize) -> ConnectorResult<OrderBook> {
        let max = if self.category() == "spot" { 200 } else { 500 };
        let params = [
            ("category", self.category().to_string()),
            ("symbol", symbol.to_string()),
            ("limit", depth.clamp(1, max).to_string()),
        ];
        let result = self.public("/v5/market/orderbook", &params).await?;
        let mut book = parse::order_book(symbol, &result).map_err(|e| self.decode(e))?;
        book.bids.truncate(depth);
        book.asks.truncate(depth);
        Ok(book)
    }

    /// Bybit cannot start at a sequence: the most recent `limit` trades are returned
    /// (the session keeps those newer than the last one it saw).
    async fn recent_trades(
        &self,
        symbol: &str,
        from_seq: Option<u64>,
        limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>> {
        // Bybit cannot start at a sequence: it returns its latest trades, kept from
        // `from_seq` on like the other venues (a backfill then sees a short page and stops).
        let max = if self.category() == "spot" { 60 } else { 1000 };
        let params = [
            ("category", self.category().to_string()),
            ("symbol", symbol.to_string()),
            ("limit", limit.clamp(1, max).to_string()),
        ];
        let result = self.public("/v5/market/recent-trade", &params).await?;
        let mut trades = parse::public_trades(&result).map_err(|e| self.decode(e))?;
        if let Some(from) = from_seq {
            trades.retain(|t| t.seq >= from);
        }
        Ok(trades)
    }

    async fn klines_1m(&self, symbol: &str, start_ms: i64, limit: usize) -> ConnectorResult<Vec<Kline>> {
        // Bybit answers the newest `limit` candles of [start, end], end = now by default:
        // the end is given so that they are the `limit` minutes from the start.
        let limit = limit.clamp(1, 1000);
        let start = start_ms - start_ms.rem_euclid(60_000);
        let end = start + limit as i64 * 60_000 - 1;
        let params = [
            ("category", self.category().to_string()),
            ("symbol", symbol.to_string()),
            ("interval", "1".to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("limit", limit.to_string()),
        ];
        let result = self.public("/v5/market/kline", &params).await?;
        let mut klines = parse::klines(symbol, &result, self.inner.rest.now_ms()).map_err(|e| self.decode(e))?;
        klines.retain(|k| (start..=end).contains(&k.open_time_ms));
        klines.truncate(limit);
        Ok(klines)
    }

    async fn balances(&self) -> ConnectorResult<Vec<Balance>> {
        let params = [("accountType", "UNIFIED".to_string())];
        let env = self.signed(reqwest::Method::GET, "/v5/account/wallet-balance", &params, None).await?;
        parse::balances(&env.result).map_err(|e| self.decode(e))
    }

    async fn create_order(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        let mut body = json!({
            "category": self.category(),
            "symbol": order.symbol,
            "side": parse::side_name(order.side),
            "orderType": if order.order_type == OrderType::Market { "Market" } else { "Limit" },
            "qty": num(order.quantity),
            "orderLinkId": order.client_order_id,
        });
        match order.order_type {
            OrderType::Market => {
                if self.category() == "spot" {
                    // Spot market buys are quoted in the quote coin unless told otherwise.
                    body["marketUnit"] = json!("baseCoin");
                }
            }
            OrderType::Limit | OrderType::LimitMaker => {
                let price = order.limit_price()?;
                body["price"] = json!(num(price));
                body["timeInForce"] = json!(if order.order_type == OrderType::LimitMaker {
                    "PostOnly"
                } else {
                    order.time_in_force.as_str()
                });
            }
        }
        if order.reduce_only && self.category() == "linear" {
            body["reduceOnly"] = json!(true);
        }
        // The create answer carries only ids: the order is read back.
        let by_link = OrderRef::Client(order.client_order_id.clone());
        super::submit_idempotent(
            EX,
            || async { self.send_order(&body).await.map(|()| None) },
            || self.get_order(&order.symbol, &by_link),
            is_duplicate,
        )
        .await
    }

    async fn get_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        let params =
            [("category", self.category().to_string()), ("symbol", symbol.to_string()), Self::order_id_param(order)];
        for path in ["/v5/order/realtime", "/v5/order/history"] {
            let env = self.signed(reqwest::Method::GET, path, &params, None).await?;
            let list = env.result.get("list").and_then(Value::as_array).ok_or_else(|| self.decode("order: no list"))?;
            if let Some(o) = list.first() {
                return parse::order(o).map_err(|e| self.decode(e));
            }
        }
        Err(ConnectorError::OrderNotFound { exchange: EX })
    }

    async fn cancel_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        let (k, v) = Self::order_id_param(order);
        let body = json!({"category": self.category(), "symbol": symbol, k: v});
        self.signed(reqwest::Method::POST, "/v5/order/cancel", &[], Some(&body)).await?;
        self.get_order(symbol, order).await
    }

    async fn open_orders(&self, symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>> {
        let mut params = vec![("category", self.category().to_string())];
        match symbol {
            Some(s) => params.push(("symbol", s.to_string())),
            None if self.category() == "linear" => params.push(("settleCoin", "USDT".to_string())),
            None => {}
        }
        params.push(("openOnly", "0".to_string()));
        params.push(("limit", "50".to_string()));
        let env = self.signed(reqwest::Method::GET, "/v5/order/realtime", &params, None).await?;
        let list = env.result.get("list").and_then(Value::as_array).ok_or_else(|| self.decode("orders: no list"))?;
        let orders: Vec<ExchangeOrder> =
            list.iter().map(|o| parse::order(o).map_err(|e| self.decode(e))).collect::<ConnectorResult<_>>()?;
        Ok(orders.into_iter().filter(|o| o.status.is_open()).collect())
    }

    async fn my_trades(&self, symbol: &str, limit: usize) -> ConnectorResult<Vec<OwnTrade>> {
        let params = [
            ("category", self.category().to_string()),
            ("symbol", symbol.to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        self.executions_where(&params).await
    }

    async fn order_trades(&self, symbol: &str, order_id: &str) -> ConnectorResult<Vec<OwnTrade>> {
        let params = [
            ("category", self.category().to_string()),
            ("symbol", symbol.to_string()),
            ("orderId", order_id.to_string()),
            ("limit", "100".to_string()),
        ];
        self.executions_where(&params).await
    }

    async fn positions(&self) -> ConnectorResult<Vec<Position>> {
        if self.category() != "linear" {
            return Err(ConnectorError::Unsupported { exchange: EX, what: "positions" });
        }
        let params = [("category", "linear".to_string()), ("settleCoin", "USDT".to_string())];
        let env = self.signed(reqwest::Method::GET, "/v5/position/list", &params, None).await?;
        parse::positions(&env.result).map_err(|e| self.decode(e))
    }

    async fn set_leverage(&self, symbol: &str, leverage: rust_decimal::Decimal) -> ConnectorResult<()> {
        if self.category() != "linear" {
            return Err(ConnectorError::Unsupported { exchange: EX, what: "leverage" });
        }
        let body = json!({"category": "linear", "symbol": symbol, "buyLeverage": num(leverage), "sellLeverage": num(leverage)});
        match self.signed(reqwest::Method::POST, "/v5/position/set-leverage", &[], Some(&body)).await {
            Ok(_) => Ok(()),
            // "leverage not modified": already at that value.
            Err(ConnectorError::Rejected { code, .. }) if code == "110043" => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn stream(&self, subscriptions: Vec<Subscription>, record: bool) -> ConnectorResult<StreamHandle> {
        let mut topics = Vec::new();
        let mut orders = false;
        for s in &subscriptions {
            match s {
                Subscription::Trades(sym) => topics.push(format!("publicTrade.{sym}")),
                Subscription::Klines1m(sym) => topics.push(format!("kline.1.{sym}")),
                Subscription::BookTicker(sym) => topics.push(format!("orderbook.1.{sym}")),
                Subscription::Orders => orders = true,
            }
        }
        topics.dedup();
        let rest: Arc<dyn Connector> = Arc::new(self.clone());
        let public = (!topics.is_empty()).then(|| {
            let url = format!("{}/v5/public/{}", self.inner.ws_url, self.category());
            ws::spawn(PublicStream { url, topics }, Some(rest), record)
        });
        let private = if orders {
            let user = PrivateStream {
                url: format!("{}/v5/private", self.inner.ws_private_url),
                credentials: self.credentials()?.clone(),
                connector: self.clone(),
            };
            Some(ws::spawn(user, None, record))
        } else {
            None
        };
        match (public, private) {
            (Some(a), Some(b)) => Ok(super::binance::merge_streams(a, b, record)),
            (Some(a), None) | (None, Some(a)) => Ok(a),
            (None, None) => Err(ConnectorError::Rejected {
                exchange: EX,
                code: "NO_SUBSCRIPTIONS".into(),
                message: "nothing to subscribe to".into(),
            }),
        }
    }
}

fn ping_frame() -> String {
    json!({"op": "ping"}).to_string()
}

/// Public topics; subscribed again on every connection.
struct PublicStream {
    url: String,
    topics: Vec<String>,
}

#[async_trait]
impl WsProtocol for PublicStream {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        Ok(WsTarget { url: self.url.clone(), ping_interval: PING_INTERVAL })
    }
    fn on_open(&mut self) -> Vec<String> {
        // Spot accepts at most 10 topics per request.
        self.topics.chunks(10).map(|c| json!({"op": "subscribe", "args": c}).to_string()).collect()
    }
    fn ping(&mut self) -> Option<String> {
        Some(ping_frame())
    }
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        parse::ws_frame(text, out).map(|()| None)
    }
}

/// The account's `order` and `execution` topics, after a signed `auth` on every connection.
struct PrivateStream {
    url: String,
    credentials: Credentials,
    connector: BybitConnector,
}

#[async_trait]
impl WsProtocol for PrivateStream {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        Ok(WsTarget { url: self.url.clone(), ping_interval: PING_INTERVAL })
    }
    fn on_open(&mut self) -> Vec<String> {
        let expires = self.connector.inner.rest.now_ms() + 10_000;
        let signature = sign::ws_auth_signature(self.credentials.secret.expose(), expires);
        vec![
            json!({"op": "auth", "args": [self.credentials.api_key.expose(), expires, signature]}).to_string(),
            json!({"op": "subscribe", "args": ["order", "execution"]}).to_string(),
        ]
    }
    fn ping(&mut self) -> Option<String> {
        Some(ping_frame())
    }
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        parse::ws_frame(text, out).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_bybit_errors() {
        assert!(matches!(map_error(10003, "API key is invalid.".into()), ConnectorError::Auth { .. }));
        assert!(matches!(map_error(10004, "error sign!".into()), ConnectorError::Auth { .. }));
        assert_eq!(map_error(110001, "Order does not exist.".into()), ConnectorError::OrderNotFound { exchange: EX });
        assert!(matches!(map_error(10006, "Too many visits!".into()), ConnectorError::RateLimited { .. }));
        let dup = map_error(110072, "OrderLinkedID is duplicate".into());
        assert!(is_duplicate(&dup));
        assert!(is_duplicate(&map_error(170141, "Duplicate clientOrderId.".into())));
        assert!(!is_duplicate(&map_error(10014, "Invalid duplicate request.".into())), "a refusal, not an order");
        let funds = map_error(170131, "Insufficient balance.".into());
        assert!(!is_duplicate(&funds) && matches!(&funds, ConnectorError::Rejected { code, .. } if code == "170131"));
    }

    #[test]
    fn endpoints_and_category() {
        let c = BybitConnector::new(ConnectorSettings::new(EX)).unwrap();
        assert_eq!((c.rest().base(), c.inner.ws_url.as_str(), c.category()), (TESTNET_REST, TESTNET_WS, "spot"));
        let mut s = ConnectorSettings::new(EX);
        s.testnet = false;
        s.market = Market::Futures;
        let c = BybitConnector::new(s).unwrap();
        assert_eq!((c.rest().base(), c.inner.ws_private_url.as_str(), c.category()), (PROD_REST, PROD_WS, "linear"));
        let mut p = PrivateStream { url: String::new(), credentials: Credentials::new("k", "s", None), connector: c };
        let open = p.on_open();
        let auth: Value = serde_json::from_str(&open[0]).unwrap();
        let expires = auth["args"][1].as_i64().unwrap();
        assert_eq!(auth["args"][2].as_str().unwrap(), sign::ws_auth_signature("s", expires));
        assert_eq!(open[1], r#"{"args":["order","execution"],"op":"subscribe"}"#);
    }
}
