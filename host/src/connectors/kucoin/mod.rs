//! KuCoin spot.
//!
//! REST: production `https://api.kucoin.com`, sandbox `https://openapi-sandbox.kucoin.com`
//! (the testnet default). Every answer is `{"code": "200000", "data": ...}`; other codes
//! map to errors: `400001`, `400003`-`400007` (missing headers, unknown key, wrong
//! passphrase, bad signature, IP not allowed, access denied) are
//! [`ConnectorError::Auth`]; `400002` (`KC-API-TIMESTAMP Invalid`) makes the connector
//! read the server time, correct its clock offset and retry once; `429000` is
//! [`ConnectorError::RateLimited`]; "order not exist" answers are
//! [`ConnectorError::OrderNotFound`]; the rest are [`ConnectorError::Rejected`].
//!
//! WebSocket: [`WsProtocol::connect`] asks `POST /api/v1/bullet-public` (or, with the
//! account's order channel, the signed `bullet-private`) for a token, the instance's
//! endpoint and its `pingInterval`, then connects to `{endpoint}?token=..&connectId=..`
//! (with a `ws_url` override, the endpoint's scheme and host are replaced by it). Topics:
//! `/market/match:BTC-USDT`, `/market/candles:BTC-USDT_1min`, `/market/ticker:BTC-USDT`
//! and the private `/spotMarket/tradeOrdersV2`. Trades are numbered by `sequence`, which
//! increases but is not contiguous, so gaps are not detected; after a reconnect the
//! missed trades come from `/api/v1/market/histories` (the last 100, no paging). When
//! those no longer reach back to the last trade seen, the stream reports
//! `StreamEvent::TradesMissed`: the host logs which minutes' candles are incomplete and
//! replaces them with the venue's klines once they close.
//!
//! Orders carry the host's client order id as `clientOid`; a submit that fails on the
//! network or is refused as a duplicate is resolved by
//! `GET /api/v1/order/client-order/{clientOid}` instead of being sent again.

pub mod parse;
pub mod sign;

use super::registry::ConnectorSettings;
use super::rest::{RateLimit, Request, Response, RestClient, encode_component, query_string};
use super::ws::{WsProtocol, WsTarget};
use super::*;
use crate::execution::Side;
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Production REST.
pub const REST_URL: &str = "https://api.kucoin.com";
/// Sandbox REST (testnet).
pub const SANDBOX_REST_URL: &str = "https://openapi-sandbox.kucoin.com";
const EX: ExchangeId = ExchangeId::Kucoin;

/// The KuCoin connector.
#[derive(Clone)]
pub struct KucoinConnector {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ConnectorSettings,
    rest: RestClient,
}

fn is_auth_code(code: &str) -> bool {
    matches!(code, "400001" | "400002" | "400003" | "400004" | "400005" | "400006" | "400007")
}

fn is_duplicate(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Rejected { message, .. }
        if { let m = message.to_ascii_lowercase(); m.contains("duplicat") || (m.contains("clientoid") && m.contains("exist")) })
}

/// `wss://host/path` with `base`'s scheme and host instead.
fn rebase(endpoint: &str, base: &str) -> String {
    let path = endpoint.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
    format!("{}{path}", base.trim_end_matches('/'))
}

impl KucoinConnector {
    /// A connector with these settings.
    pub fn new(settings: ConnectorSettings) -> ConnectorResult<KucoinConnector> {
        if settings.market == Market::Futures {
            return Err(ConnectorError::Unsupported { exchange: EX, what: "KuCoin futures (spot only)" });
        }
        let base = match &settings.rest_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None if settings.testnet => SANDBOX_REST_URL.to_string(),
            None => REST_URL.to_string(),
        };
        // KuCoin's public pool allows roughly 2000 weight / 30 s per IP; stay below.
        let rest = RestClient::new(EX, &base, RateLimit { capacity: 600, window: Duration::from_secs(30) });
        Ok(KucoinConnector { inner: Arc::new(Inner { settings, rest }) })
    }

    fn creds(&self) -> ConnectorResult<(Credentials, String)> {
        let c = self
            .inner
            .settings
            .credentials
            .clone()
            .ok_or_else(|| ConnectorError::Auth { exchange: EX, reason: "no API keys configured".into() })?;
        let pass = c
            .passphrase
            .as_ref()
            .map(|p| p.expose().to_string())
            .ok_or_else(|| ConnectorError::Auth { exchange: EX, reason: "KuCoin needs the API passphrase".into() })?;
        Ok((c, pass))
    }

    fn decode(&self, reason: impl Into<String>) -> ConnectorError {
        self.inner.rest.decode(reason)
    }

    fn interpret(&self, resp: Response) -> ConnectorResult<Value> {
        let (code, msg) = match parse::envelope(&resp.body) {
            Ok(data) if (200..300).contains(&resp.status) => return Ok(data),
            Ok(_) => (format!("HTTP {}", resp.status), String::new()),
            Err((code, msg)) if code.is_empty() => {
                return Err(if (200..300).contains(&resp.status) {
                    self.decode("answer is not JSON")
                } else if resp.status == 401 {
                    ConnectorError::Auth { exchange: EX, reason: format!("HTTP 401 {msg}") }
                } else {
                    ConnectorError::Rejected { exchange: EX, code: format!("HTTP {}", resp.status), message: msg }
                });
            }
            Err(cm) => cm,
        };
        let lower = msg.to_ascii_lowercase();
        Err(if code == "400002" {
            ConnectorError::Rejected { exchange: EX, code, message: msg }
        } else if is_auth_code(&code) {
            ConnectorError::Auth { exchange: EX, reason: format!("{code}: {msg}") }
        } else if code == "429000" {
            ConnectorError::RateLimited { exchange: EX, retry_after: Duration::from_secs(1) }
        } else if lower.contains("not exist") || lower.contains("not_exist") || lower.contains("not found") {
            ConnectorError::OrderNotFound { exchange: EX }
        } else {
            ConnectorError::Rejected { exchange: EX, code, message: msg }
        })
    }

    async fn public(&self, method: Method, path: &str, query: String) -> ConnectorResult<Value> {
        let path = path.to_string();
        let resp = self.inner.rest.send(1, |_| Request::new(method, path).query(query)).await?;
        self.interpret(resp)
    }

    /// A signed request; `400002` (timestamp) resyncs the clock and retries once.
    async fn signed(&self, method: Method, path: &str, query: String, body: String) -> ConnectorResult<Value> {
        let (creds, pass) = self.creds()?;
        let endpoint = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
        let pass_sig = sign::passphrase(creds.secret.expose(), &pass);
        for attempt in 0..2 {
            let resp = self
                .inner
                .rest
                .send(1, |now_ms| {
                    let sig = sign::sign_request(creds.secret.expose(), now_ms, method.as_str(), &endpoint, &body);
                    let mut r = Request::new(method.clone(), path)
                        .query(query.clone())
                        .header("KC-API-KEY", creds.api_key.expose())
                        .header("KC-API-SIGN", sig)
                        .header("KC-API-TIMESTAMP", now_ms.to_string())
                        .header("KC-API-PASSPHRASE", pass_sig.clone())
                        .header("KC-API-KEY-VERSION", "2");
                    if !body.is_empty() {
                        r = r.json_body(body.clone());
                    }
                    r
                })
                .await?;
            match self.interpret(resp) {
                Err(ConnectorError::Rejected { code, .. }) if code == "400002" && attempt == 0 => {
                    tracing::warn!(exchange = %EX, "KC-API-TIMESTAMP refused; resyncing the clock and retrying");
                    self.server_time().await?;
                }
                Err(ConnectorError::Rejected { code, message, .. }) if code == "400002" => {
                    return Err(ConnectorError::Auth { exchange: EX, reason: format!("{code}: {message}") });
                }
                other => return other,
            }
        }
        Err(ConnectorError::Auth { exchange: EX, reason: "timestamp refused after a clock resync".into() })
    }

    fn items(&self, v: Value, what: &str) -> ConnectorResult<Vec<Value>> {
        match v {
            Value::Array(a) => Ok(a),
            Value::Object(ref o) if o.contains_key("items") => match o.get("items") {
                Some(Value::Array(a)) => Ok(a.clone()),
                _ => Ok(Vec::new()),
            },
            Value::Null => Ok(Vec::new()),
            other => Err(self.decode(format!("{what}: expected a list, got {}", other.to_string().len()))),
        }
    }

    fn parse_order(&self, v: &Value) -> ConnectorResult<ExchangeOrder> {
        if v.is_null() {
            return Err(ConnectorError::OrderNotFound { exchange: EX });
        }
        parse::order(v).map_err(|e| self.decode(format!("order: {e}")))
    }

    async fn submit(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        let mut body = json!({
            "clientOid": order.client_order_id,
            "side": if order.side == Side::Buy { "buy" } else { "sell" },
            "symbol": parse::venue_symbol(&order.symbol),
            "type": if order.order_type == OrderType::Market { "market" } else { "limit" },
            "size": order.quantity.normalize().to_string(),
        });
        if order.order_type != OrderType::Market {
            let price = order.limit_price()?;
            body["price"] = json!(price.normalize().to_string());
            body["timeInForce"] = json!(order.time_in_force.as_str());
            if order.order_type == OrderType::LimitMaker {
                body["postOnly"] = json!(true);
                body["timeInForce"] = json!("GTC");
            }
        }
        let v = self.signed(Method::POST, "/api/v1/orders", String::new(), body.to_string()).await?;
        let id = parse::str_field(&v, "orderId").map_err(|e| self.decode(e))?;
        match self.get_order(&order.symbol, &OrderRef::Exchange(id.clone())).await {
            Ok(o) => Ok(o),
            Err(e) => {
                tracing::warn!(exchange = %EX, error = %e, "order accepted; its state could not be read back");
                Ok(ExchangeOrder {
                    exchange: EX,
                    order_id: id,
                    client_order_id: order.client_order_id.clone(),
                    symbol: order.symbol.clone(),
                    side: order.side,
                    order_type: order.order_type,
                    status: ExchangeOrderStatus::New,
                    price: order.price,
                    quantity: order.quantity,
                    filled_quantity: Decimal::ZERO,
                    filled_quote: None,
                    updated_ms: self.inner.rest.now_ms(),
                })
            }
        }
    }

    /// A done order of `symbol` by client id, from the most recent page of done orders.
    async fn find_done(&self, symbol: &str, client_id: &str) -> ConnectorResult<ExchangeOrder> {
        let q = query_string(&[
            ("status", "done".to_string()),
            ("symbol", parse::venue_symbol(symbol)),
            ("pageSize", "500".to_string()),
        ]);
        let v = self.signed(Method::GET, "/api/v1/orders", q, String::new()).await?;
        let done = self.items(v, "orders")?;
        match done.iter().find(|o| o.get("clientOid").and_then(Value::as_str) == Some(client_id)) {
            Some(o) => self.parse_order(o),
            None => Err(ConnectorError::OrderNotFound { exchange: EX }),
        }
    }
}

impl KucoinConnector {
    /// `/api/v1/fills` with query `q`, oldest first.
    async fn fills_where(&self, q: String) -> ConnectorResult<Vec<OwnTrade>> {
        let v = self.signed(Method::GET, "/api/v1/fills", q, String::new()).await?;
        let mut fills = self
            .items(v, "fills")?
            .iter()
            .map(parse::fill)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.decode(e))?;
        fills.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.trade_id.cmp(&b.trade_id)));
        Ok(fills)
    }
}

#[async_trait]
impl Connector for KucoinConnector {
    fn exchange(&self) -> ExchangeId {
        EX
    }
    fn testnet(&self) -> bool {
        self.inner.settings.testnet
    }
    fn market(&self) -> Market {
        Market::Spot
    }

    async fn server_time(&self) -> ConnectorResult<i64> {
        let sent = RestClient::local_ms();
        let v = self.public(Method::GET, "/api/v1/timestamp", String::new()).await?;
        let received = RestClient::local_ms();
        let server = v.as_i64().ok_or_else(|| self.decode("timestamp is not a number"))?;
        self.inner.rest.observe_server_time(server, sent, received);
        Ok(server)
    }

    async fn test_connection(&self) -> ConnectorResult<ConnectionReport> {
        super::probe(self, self.inner.settings.credentials.is_some(), &self.inner.rest).await
    }

    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>> {
        let v = self.public(Method::GET, "/api/v2/symbols", String::new()).await?;
        self.items(v, "symbols")?.iter().map(|s| parse::symbol_rules(s).map_err(|e| self.decode(e))).collect()
    }

    async fn ticker(&self, symbol: &str) -> ConnectorResult<Ticker> {
        let q = query_string(&[("symbol", parse::venue_symbol(symbol))]);
        let level1 = self.public(Method::GET, "/api/v1/market/orderbook/level1", q.clone()).await?;
        let stats = self.public(Method::GET, "/api/v1/market/stats", q).await?;
        parse::ticker(symbol, &level1, &stats).map_err(|e| self.decode(e))
    }

    async fn order_book(&self, symbol: &str, depth: usize) -> ConnectorResult<OrderBook> {
        let path =
            if depth <= 20 { "/api/v1/market/orderbook/level2_20" } else { "/api/v1/market/orderbook/level2_100" };
        let q = query_string(&[("symbol", parse::venue_symbol(symbol))]);
        let v = self.public(Method::GET, path, q).await?;
        parse::order_book(&v, symbol, depth.max(1)).map_err(|e| self.decode(e))
    }

    async fn recent_trades(
        &self,
        symbol: &str,
        from_seq: Option<u64>,
        limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>> {
        let q = query_string(&[("symbol", parse::venue_symbol(symbol))]);
        let v = self.public(Method::GET, "/api/v1/market/histories", q).await?;
        let mut trades = self
            .items(v, "histories")?
            .iter()
            .map(|t| parse::trade(t, symbol))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.decode(e))?;
        if let Some(from) = from_seq {
            trades.retain(|t| t.seq >= from);
        }
        trades.sort_by_key(|t| t.seq);
        let skip = trades.len().saturating_sub(limit.max(1));
        Ok(trades.split_off(skip))
    }

    async fn klines_1m(&self, symbol: &str, start_ms: i64, limit: usize) -> ConnectorResult<Vec<Kline>> {
        let limit = limit.clamp(1, 1500);
        let start = start_ms.div_euclid(1000);
        let end = start + limit as i64 * 60;
        let q = query_string(&[
            ("type", "1min".into()),
            ("symbol", parse::venue_symbol(symbol)),
            ("startAt", start.to_string()),
            ("endAt", end.to_string()),
        ]);
        let v = self.public(Method::GET, "/api/v1/market/candles", q).await?;
        let now = self.inner.rest.now_ms();
        let mut klines = self
            .items(v, "candles")?
            .iter()
            .map(|row| {
                let mut k = parse::candle_row(row, symbol, true)?;
                k.closed = k.open_time_ms + 60_000 <= now;
                Ok(k)
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| self.decode(e))?;
        klines.retain(|k| k.open_time_ms >= start_ms - start_ms.rem_euclid(60_000));
        klines.sort_by_key(|k| k.open_time_ms);
        klines.truncate(limit);
        Ok(klines)
    }

    async fn balances(&self) -> ConnectorResult<Vec<Balance>> {
        let q = query_string(&[("type", "trade".into())]);
        let v = self.signed(Method::GET, "/api/v1/accounts", q, String::new()).await?;
        let all = parse::balances(&self.items(v, "accounts")?).map_err(|e| self.decode(e))?;
        Ok(all.into_iter().filter(|b| !(b.free + b.locked).is_zero()).collect())
    }

    async fn create_order(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        let by_client = OrderRef::Client(order.client_order_id.clone());
        super::submit_idempotent(
            EX,
            || async { self.submit(order).await.map(Some) },
            || self.get_order(&order.symbol, &by_client),
            is_duplicate,
        )
        .await
    }

    async fn get_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        let path = match order {
            OrderRef::Exchange(id) => format!("/api/v1/orders/{}", encode_component(id)),
            OrderRef::Client(c) => format!("/api/v1/order/client-order/{}", encode_component(c)),
        };
        match (self.signed(Method::GET, &path, String::new(), String::new()).await, order) {
            (Ok(v), _) => self.parse_order(&v),
            // KuCoin answers "order does not exist" by client id once an order is done
            // (filled or canceled): a market order that filled before its answer got lost
            // would look never placed, and be sent again. Look among the done orders.
            (Err(ConnectorError::OrderNotFound { .. }), OrderRef::Client(c)) if !symbol.is_empty() => {
                self.find_done(symbol, c).await
            }
            (Err(e), _) => Err(e),
        }
    }

    async fn cancel_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        let path = match order {
            OrderRef::Exchange(id) => format!("/api/v1/orders/{}", encode_component(id)),
            OrderRef::Client(c) => format!("/api/v1/order/client-order/{}", encode_component(c)),
        };
        self.signed(Method::DELETE, &path, String::new(), String::new()).await?;
        self.get_order(symbol, order).await
    }

    async fn open_orders(&self, symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>> {
        let mut params = vec![("status", "active".to_string())];
        if let Some(s) = symbol {
            params.push(("symbol", parse::venue_symbol(s)));
        }
        params.push(("pageSize", "500".into()));
        let v = self.signed(Method::GET, "/api/v1/orders", query_string(&params), String::new()).await?;
        self.items(v, "orders")?.iter().map(|o| self.parse_order(o)).collect()
    }

    async fn my_trades(&self, symbol: &str, limit: usize) -> ConnectorResult<Vec<OwnTrade>> {
        let q = query_string(&[("symbol", parse::venue_symbol(symbol)), ("pageSize", limit.clamp(1, 500).to_string())]);
        self.fills_where(q).await
    }

    async fn order_trades(&self, symbol: &str, order_id: &str) -> ConnectorResult<Vec<OwnTrade>> {
        let q = query_string(&[
            ("symbol", parse::venue_symbol(symbol)),
            ("orderId", order_id.to_string()),
            ("pageSize", "500".to_string()),
        ]);
        self.fills_where(q).await
    }

    fn stream(&self, subscriptions: Vec<Subscription>, record: bool) -> ConnectorResult<StreamHandle> {
        let private = subscriptions.contains(&Subscription::Orders);
        if private {
            self.creds()?;
        }
        let ws_override = if private {
            self.inner.settings.ws_private_url.clone().or_else(|| self.inner.settings.ws_url.clone())
        } else {
            self.inner.settings.ws_url.clone()
        };
        let protocol = KucoinWs { conn: self.clone(), subs: subscriptions, private, ws_override, next_id: 1 };
        let rest: Arc<dyn Connector> = Arc::new(self.clone());
        Ok(super::ws::spawn(protocol, Some(rest), record))
    }
}

/// KuCoin's WebSocket dialect.
struct KucoinWs {
    conn: KucoinConnector,
    subs: Vec<Subscription>,
    private: bool,
    ws_override: Option<String>,
    next_id: u64,
}

impl KucoinWs {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn subscribe(&mut self, topic: String, private: bool) -> String {
        json!({"id": self.id().to_string(), "type": "subscribe", "topic": topic, "privateChannel": private, "response": true})
            .to_string()
    }
}

#[async_trait]
impl WsProtocol for KucoinWs {
    fn exchange(&self) -> ExchangeId {
        EX
    }

    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        let v = if self.private {
            self.conn.signed(Method::POST, "/api/v1/bullet-private", String::new(), String::new()).await?
        } else {
            self.conn.public(Method::POST, "/api/v1/bullet-public", String::new()).await?
        };
        let token = parse::str_field(&v, "token").map_err(|e| self.conn.decode(e))?;
        let server = v
            .get("instanceServers")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .ok_or_else(|| self.conn.decode("bullet: no instance server"))?;
        let endpoint = parse::str_field(server, "endpoint").map_err(|e| self.conn.decode(e))?;
        let endpoint = match &self.ws_override {
            Some(base) => rebase(&endpoint, base),
            None => endpoint,
        };
        let ping_ms = server.get("pingInterval").and_then(Value::as_u64).unwrap_or(18_000).max(1_000);
        let connect_id = format!("th{}", RestClient::local_ms());
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        Ok(WsTarget {
            url: format!("{endpoint}{sep}token={}&connectId={connect_id}", encode_component(&token)),
            ping_interval: Duration::from_millis(ping_ms),
        })
    }

    fn on_open(&mut self) -> Vec<String> {
        let mut frames = Vec::new();
        if self.subs.contains(&Subscription::Orders) {
            frames.push(self.subscribe("/spotMarket/tradeOrdersV2".into(), true));
        }
        for s in self.subs.clone() {
            let topic = match s {
                Subscription::Trades(sym) => format!("/market/match:{}", parse::venue_symbol(&sym)),
                Subscription::Klines1m(sym) => format!("/market/candles:{}_1min", parse::venue_symbol(&sym)),
                Subscription::BookTicker(sym) => format!("/market/ticker:{}", parse::venue_symbol(&sym)),
                Subscription::Orders => continue,
            };
            frames.push(self.subscribe(topic, false));
        }
        frames
    }

    fn ping(&mut self) -> Option<String> {
        Some(json!({"id": self.id().to_string(), "type": "ping"}).to_string())
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "message" => {}
            "error" => return Err(format!("error frame: {}", v.get("data").cloned().unwrap_or_default())),
            _ => return Ok(None), // welcome, ack, pong
        }
        let topic = v.get("topic").and_then(Value::as_str).unwrap_or("");
        let data = v.get("data").cloned().unwrap_or_default();
        if super::frames::kucoin_market(topic, &data, out)? {
            return Ok(None);
        }
        let kind = topic.split_once(':').map_or(topic, |(k, _)| k);
        if kind == "/spotMarket/tradeOrdersV2" || kind == "/spotMarket/tradeOrders" {
            out.push(StreamEvent::Order(parse::order_change(&data)?));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_rebase() {
        let c = KucoinConnector::new(ConnectorSettings::new(ExchangeId::Kucoin)).unwrap();
        assert_eq!(c.inner.rest.base(), SANDBOX_REST_URL);
        assert_eq!(rebase("wss://ws-api-spot.kucoin.com/endpoint", "ws://127.0.0.1:9"), "ws://127.0.0.1:9/endpoint");
        assert_eq!(rebase("wss://ws-api-spot.kucoin.com", "ws://127.0.0.1:9/"), "ws://127.0.0.1:9/");
    }

    #[test]
    fn frames_and_messages() {
        let c = KucoinConnector::new(ConnectorSettings::new(ExchangeId::Kucoin)).unwrap();
        let mut p = KucoinWs {
            conn: c,
            subs: vec![
                Subscription::Orders,
                Subscription::Trades("BTCUSDT".into()),
                Subscription::Klines1m("BTCUSDT".into()),
            ],
            private: true,
            ws_override: None,
            next_id: 0,
        };
        let frames: Vec<Value> = p.on_open().iter().map(|f| serde_json::from_str(f).unwrap()).collect();
        assert_eq!(frames[0]["topic"], "/spotMarket/tradeOrdersV2");
        assert_eq!(frames[0]["privateChannel"], true);
        assert_eq!(frames[1]["topic"], "/market/match:BTC-USDT");
        assert_eq!(frames[2]["topic"], "/market/candles:BTC-USDT_1min");
        let ping: Value = serde_json::from_str(&p.ping().unwrap()).unwrap();
        assert_eq!(ping["type"], "ping");

        let path = format!("{}/../../shared/data/exchange-docs/kucoin_ws_match.json", env!("CARGO_MANIFEST_DIR"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut out = Vec::new();
        p.on_text(&doc["payload"].to_string(), &mut out).unwrap();
        let candle = r#"{"type":"message","topic":"/market/candles:BTC-USDT_1min","subject":"trade.candles.update",
            "data":{"symbol":"BTC-USDT","candles":["1589968800","9786.9","9740.8","9806.1","9732","27.45649579","268280.09830877"],"time":1589970010253893337}}"#;
        p.on_text(candle, &mut out).unwrap();
        assert_eq!(p.on_text(r#"{"id":"1","type":"welcome"}"#, &mut out), Ok(None));
        assert_eq!(out.len(), 2);
        let StreamEvent::Trade(t) = &out[0] else { panic!() };
        assert_eq!((t.symbol.as_str(), t.time_ms), ("BTCUSDT", 1_545_913_818_099));
        let StreamEvent::Kline(k) = &out[1] else { panic!() };
        assert_eq!((k.open_time_ms, k.close), (1_589_968_800_000, "9740.8".parse().unwrap()));
    }

    #[test]
    fn duplicate_detection() {
        let e =
            ConnectorError::Rejected { exchange: EX, code: "400100".into(), message: "clientOid duplicated".into() };
        assert!(is_duplicate(&e));
        let e =
            ConnectorError::Rejected { exchange: EX, code: "200004".into(), message: "Balance insufficient".into() };
        assert!(!is_duplicate(&e));
    }
}
