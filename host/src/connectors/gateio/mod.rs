//! Gate.io APIv4: spot and USDT-margined perpetual futures.
//!
//! Endpoints, as Gate documents them:
//!
//! | | production | testnet (the default) |
//! | --- | --- | --- |
//! | REST (spot and futures) | `https://api.gateio.ws/api/v4` | `https://api-testnet.gateapi.io/api/v4` |
//! | spot WebSocket | `wss://api.gateio.ws/ws/v4/` | `wss://ws-testnet.gate.io/v4/ws/spot` |
//! | USDT futures WebSocket | `wss://fx-ws.gateio.ws/v4/ws/usdt` | `wss://ws-testnet.gate.com/v4/ws/futures/usdt` |
//!
//! Gate's API docs list one "TestNet trading" REST host for every product
//! (`api-testnet.gateapi.io`, which replaced the futures-only `fx-api-testnet.gateio.ws`),
//! and the spot WebSocket docs list their own testnet URL; testnet keys are created
//! separately on Gate's testnet. With `rest_url` / `ws_url` overrides (scheme and host
//! only), the production paths are appended: `/api/v4/...`, `/ws/v4/` (spot) and
//! `/v4/ws/usdt` (futures).
//!
//! Symbols: host `BTCUSDT` is Gate's `BTC_USDT` (spot currency pair or futures contract).
//! Gate sizes futures in whole contracts (a futures order's `size` is signed); one contract
//! is the contract's `quanto_multiplier` of the base (0.0001 BTC for `BTC_USDT`). The
//! connector speaks base units to the host, as on every venue: it reads each contract's
//! multiplier from `GET /futures/usdt/contracts` (again when a contract it does not know
//! turns up), multiplies every size it reads (orders, fills, trades, positions, books,
//! candle volumes) and sends an order's base quantity as contracts. A quantity that is not
//! a whole number of contracts is refused with a `LOT_SIZE` filter error (the symbol's
//! rules give the contract as its lot, so the host's filters round to it before sending).
//!
//! Signing is in [`sign`]; errors map from Gate's `label`: `INVALID_KEY`,
//! `INVALID_SIGNATURE`, `FORBIDDEN` (and HTTP 401) are [`ConnectorError::Auth`],
//! `ORDER_NOT_FOUND` is [`ConnectorError::OrderNotFound`], `TOO_MANY_REQUESTS` is
//! [`ConnectorError::RateLimited`], `REQUEST_EXPIRED` makes the connector read the server
//! time, correct its clock offset and send the request once more; anything else is
//! [`ConnectorError::Rejected`] with the label as the code.
//!
//! Orders carry the client order id as Gate's `text` = `t-<id>` (Gate allows 28
//! characters after `t-`). A submit that fails on the network, or that Gate refuses as a
//! duplicate (`ORDER_EXISTS` or a label containing `DUPLICATE`), is resolved by looking
//! the order up by `t-<id>` instead of sending it again. A spot market buy's `amount` is
//! quote currency on Gate: the connector converts the base quantity at the best ask.
//!
//! WebSocket v4: public `*.trades`, `*.candlesticks` (`1m`), `*.book_ticker`; the
//! account's orders come from `*.orders` plus `*.usertrades` (each fill is delivered as
//! an [`OrderUpdate`] with the fill and the latest known state of its order). Trade ids
//! increase but are not contiguous per pair, so gaps are not detected; after a reconnect
//! the missed trades are fetched over REST (`last_id` on spot).

pub mod parse;
pub mod sign;

use super::registry::ConnectorSettings;
use super::rest::{RateLimit, Request, Response, RestClient, encode_component, query_string};
use super::ws::{WsProtocol, WsTarget};
use super::*;
use crate::execution::Side;
use async_trait::async_trait;
use parse::ContractSizes;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Production REST host (spot and futures).
pub const REST_URL: &str = "https://api.gateio.ws";
/// Testnet REST host (spot and futures).
pub const TESTNET_REST_URL: &str = "https://api-testnet.gateapi.io";
/// Production spot WebSocket.
pub const SPOT_WS_URL: &str = "wss://api.gateio.ws/ws/v4/";
/// Testnet spot WebSocket.
pub const TESTNET_SPOT_WS_URL: &str = "wss://ws-testnet.gate.io/v4/ws/spot";
/// Production USDT futures WebSocket.
pub const FUTURES_WS_URL: &str = "wss://fx-ws.gateio.ws/v4/ws/usdt";
/// Testnet USDT futures WebSocket.
pub const TESTNET_FUTURES_WS_URL: &str = "wss://ws-testnet.gate.com/v4/ws/futures/usdt";

const API: &str = "/api/v4";
const SPOT_WS_PATH: &str = "/ws/v4/";
const FUTURES_WS_PATH: &str = "/v4/ws/usdt";
const EX: ExchangeId = ExchangeId::Gateio;

/// The Gate.io connector.
#[derive(Clone)]
pub struct GateioConnector {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ConnectorSettings,
    rest: RestClient,
    ws_public: String,
    ws_private: String,
    /// Futures: base units per contract, by contract name (empty until first needed).
    sizes: std::sync::RwLock<Arc<ContractSizes>>,
    /// When the contract list was last fetched; held while fetching, so callers that miss
    /// the same contract together fetch it once.
    sizes_fetched: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// Least time between two fetches of the contract list for a contract it did not hold.
const SIZES_REFETCH: std::time::Duration = std::time::Duration::from_secs(10);

impl GateioConnector {
    /// A connector with these settings.
    pub fn new(settings: ConnectorSettings) -> ConnectorResult<GateioConnector> {
        let futures = settings.market == Market::Futures;
        let rest_base = match &settings.rest_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None if settings.testnet => TESTNET_REST_URL.to_string(),
            None => REST_URL.to_string(),
        };
        let ws_path = if futures { FUTURES_WS_PATH } else { SPOT_WS_PATH };
        let default_ws = match (futures, settings.testnet) {
            (false, true) => TESTNET_SPOT_WS_URL,
            (false, false) => SPOT_WS_URL,
            (true, true) => TESTNET_FUTURES_WS_URL,
            (true, false) => FUTURES_WS_URL,
        };
        let ws = |o: &Option<String>| match o {
            Some(u) => format!("{}{ws_path}", u.trim_end_matches('/')),
            None => default_ws.to_string(),
        };
        let ws_public = ws(&settings.ws_url);
        let ws_private = ws(&settings.ws_private_url.clone().or_else(|| settings.ws_url.clone()));
        // Gate allows 200 requests per 10 s on most endpoints; stay under it.
        let limit = RateLimit { capacity: 150, window: std::time::Duration::from_secs(10) };
        let rest = RestClient::new(EX, &rest_base, limit);
        let (sizes, sizes_fetched) = Default::default();
        Ok(GateioConnector { inner: Arc::new(Inner { settings, rest, ws_public, ws_private, sizes, sizes_fetched }) })
    }

    fn futures(&self) -> bool {
        self.inner.settings.market == Market::Futures
    }

    fn creds(&self) -> ConnectorResult<Credentials> {
        self.inner
            .settings
            .credentials
            .clone()
            .ok_or_else(|| ConnectorError::Auth { exchange: EX, reason: "no API keys configured".into() })
    }

    fn decode(&self, reason: impl Into<String>) -> ConnectorError {
        self.inner.rest.decode(reason)
    }

    /// The answer's JSON, or the error its label stands for.
    fn interpret(&self, resp: Response) -> ConnectorResult<Value> {
        if (200..300).contains(&resp.status) {
            if resp.body.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&resp.body).map_err(|e| self.decode(format!("invalid JSON: {e}")));
        }
        let Some((label, message)) = parse::error_label(&resp.body) else {
            let snippet: String = resp.body.chars().take(200).collect();
            return Err(if resp.status == 401 {
                ConnectorError::Auth { exchange: EX, reason: format!("HTTP 401 {snippet}") }
            } else {
                ConnectorError::Rejected { exchange: EX, code: format!("HTTP {}", resp.status), message: snippet }
            });
        };
        Err(match label.as_str() {
            "INVALID_KEY"
            | "INVALID_SIGNATURE"
            | "FORBIDDEN"
            | "MISSING_REQUIRED_HEADER"
            | "INVALID_CREDENTIALS"
            | "IP_FORBIDDEN"
            | "READ_ONLY" => ConnectorError::Auth { exchange: EX, reason: format!("{label}: {message}") },
            // By `text`, Gate finds an order while it works and for an hour after it ends;
            // otherwise `CLIENT_ID_NOT_FOUND`.
            "ORDER_NOT_FOUND" | "CLIENT_ID_NOT_FOUND" => ConnectorError::OrderNotFound { exchange: EX },
            "TOO_MANY_REQUESTS" => {
                ConnectorError::RateLimited { exchange: EX, retry_after: std::time::Duration::from_secs(1) }
            }
            _ => ConnectorError::Rejected { exchange: EX, code: label, message },
        })
    }

    async fn public(&self, path: &str, query: String) -> ConnectorResult<Value> {
        let full = format!("{API}{path}");
        let resp = self
            .inner
            .rest
            .send(1, |_| Request::new(Method::GET, full).query(query).header("Accept", "application/json"))
            .await?;
        self.interpret(resp)
    }

    /// A signed request; a `REQUEST_EXPIRED` answer resyncs the clock and retries once.
    async fn signed(&self, method: Method, path: &str, query: String, body: String) -> ConnectorResult<Value> {
        let creds = self.creds()?;
        let full = format!("{API}{path}");
        for attempt in 0..2 {
            let resp = self
                .inner
                .rest
                .send(1, |now_ms| {
                    let ts = now_ms.div_euclid(1000);
                    let sig = sign::sign_rest(creds.secret.expose(), method.as_str(), &full, &query, &body, ts);
                    let mut r = Request::new(method.clone(), full.clone())
                        .query(query.clone())
                        .header("Accept", "application/json")
                        .header("KEY", creds.api_key.expose())
                        .header("Timestamp", ts.to_string())
                        .header("SIGN", sig);
                    if !body.is_empty() {
                        r = r.json_body(body.clone());
                    }
                    r
                })
                .await?;
            match self.interpret(resp) {
                Err(ConnectorError::Rejected { code, .. }) if code == "REQUEST_EXPIRED" && attempt == 0 => {
                    tracing::warn!(exchange = %EX, "request timestamp refused; resyncing the clock and retrying");
                    self.server_time().await?;
                }
                other => return other,
            }
        }
        Err(ConnectorError::Auth { exchange: EX, reason: "REQUEST_EXPIRED after a clock resync".into() })
    }

    fn array(&self, v: Value, what: &str) -> ConnectorResult<Vec<Value>> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(self.decode(format!("{what}: expected an array, got {}", short(&other)))),
        }
    }

    /// A finished spot order of `symbol` by client id, among the pair's latest 100.
    async fn find_finished(&self, symbol: &str, client_id: &str) -> ConnectorResult<ExchangeOrder> {
        let q = query_string(&[
            ("currency_pair", self.pair(symbol)),
            ("status", "finished".to_string()),
            ("limit", "100".to_string()),
        ]);
        let v = self.signed(Method::GET, "/spot/orders", q, String::new()).await?;
        let text = format!("t-{client_id}");
        match self.array(v, "orders")?.iter().find(|o| o.get("text").and_then(Value::as_str) == Some(&text)) {
            Some(o) => self.parse_order(o, &ContractSizes::new()),
            None => Err(ConnectorError::OrderNotFound { exchange: EX }),
        }
    }

    fn pair(&self, symbol: &str) -> String {
        parse::venue_symbol(symbol)
    }

    fn order_id_path(order: &OrderRef) -> String {
        match order {
            OrderRef::Exchange(id) => encode_component(id),
            OrderRef::Client(c) => encode_component(&format!("t-{c}")),
        }
    }

    fn parse_order(&self, v: &Value, sizes: &ContractSizes) -> ConnectorResult<ExchangeOrder> {
        let r = if self.futures() { parse::futures_order(v, sizes) } else { parse::spot_order(v) };
        r.map_err(|e| self.decode(format!("order: {e}")))
    }

    fn known_sizes(&self) -> Arc<ContractSizes> {
        self.inner.sizes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Futures contract sizes including `contract`'s (any, when None): the table is loaded
    /// on first use and again when it lacks `contract` (listed since), at most once per
    /// [`SIZES_REFETCH`] and once for callers missing it together. Empty on spot.
    async fn sizes_with(&self, contract: Option<&str>) -> ConnectorResult<Arc<ContractSizes>> {
        if !self.futures() {
            return Ok(Arc::default());
        }
        let has = |known: &ContractSizes| !known.is_empty() && contract.is_none_or(|c| known.contains_key(c));
        let known = self.known_sizes();
        if has(&known) {
            return Ok(known);
        }
        let mut fetched = self.inner.sizes_fetched.lock().await;
        let known = self.known_sizes();
        // Fetched by another caller meanwhile, or lately enough that a contract still
        // missing is not listed: no new fetch.
        let recent = fetched.is_some_and(|t| t.elapsed() < SIZES_REFETCH) && !known.is_empty();
        if !has(&known) && !recent {
            self.exchange_info().await?;
            *fetched = Some(std::time::Instant::now());
        }
        drop(fetched);
        let known = self.known_sizes();
        match contract {
            Some(c) if !known.contains_key(c) => Err(ConnectorError::Rejected {
                exchange: EX,
                code: "UNKNOWN_CONTRACT".into(),
                message: format!("{c} is not among the USDT futures contracts"),
            }),
            _ => Ok(known),
        }
    }

    /// Contract sizes covering every `contract` named in `items` (orders, positions) that
    /// Gate lists; the caller skips items of a contract it does not.
    async fn sizes_for_all(&self, items: &[Value]) -> ConnectorResult<Arc<ContractSizes>> {
        let mut sizes = self.sizes_with(None).await?;
        for c in items.iter().filter_map(|i| i.get("contract").and_then(Value::as_str)) {
            if !sizes.contains_key(c)
                && let Ok(more) = self.sizes_with(Some(c)).await
            {
                sizes = more;
            }
        }
        Ok(sizes)
    }

    /// Parse each of `items`, skipping (with an error in the log) those of a contract whose
    /// size is unknown, so one delisted contract does not hide every other order.
    fn parse_sized<T>(
        &self,
        items: &[Value],
        sizes: &ContractSizes,
        what: &str,
        parse: impl Fn(&Value, &ContractSizes) -> Result<T, String>,
    ) -> ConnectorResult<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let contract = item.get("contract").and_then(Value::as_str).unwrap_or_default();
            if !sizes.contains_key(contract) {
                tracing::error!(exchange = %EX, contract, what, "skipped: the contract's size is unknown");
                continue;
            }
            out.push(parse(item, sizes).map_err(|e| self.decode(format!("{what}: {e}")))?);
        }
        Ok(out)
    }

    /// Base units per contract of `symbol` (futures).
    async fn per_contract(&self, symbol: &str) -> ConnectorResult<Decimal> {
        let pair = self.pair(symbol);
        let sizes = self.sizes_with(Some(&pair)).await?;
        parse::contract_size(&sizes, &pair).map_err(|e| self.decode(e))
    }

    async fn submit(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        let pair = self.pair(&order.symbol);
        let text = format!("t-{}", order.client_order_id);
        let tif = match (order.order_type, order.time_in_force) {
            (OrderType::LimitMaker, _) => "poc",
            (OrderType::Market, TimeInForce::Fok) => "fok",
            (OrderType::Market, _) => "ioc",
            (_, TimeInForce::Gtc) => "gtc",
            (_, TimeInForce::Ioc) => "ioc",
            (_, TimeInForce::Fok) => "fok",
        };
        let price = order.price.map(|p| p.normalize().to_string());
        let sizes = self.sizes_with(Some(&pair)).await?;
        let (path, body) = if self.futures() {
            let per = parse::contract_size(&sizes, &pair).map_err(|e| self.decode(e))?;
            let contracts = order.quantity / per;
            if !contracts.fract().is_zero() || order.quantity <= Decimal::ZERO {
                return Err(ConnectorError::Filter {
                    symbol: order.symbol.clone(),
                    filter: "LOT_SIZE",
                    reason: format!(
                        "{} is not a whole number of Gate futures contracts of {}",
                        order.quantity.normalize(),
                        per.normalize()
                    ),
                });
            }
            let contracts = i64::try_from(contracts.trunc()).map_err(|_| ConnectorError::Filter {
                symbol: order.symbol.clone(),
                filter: "LOT_SIZE",
                reason: "too many contracts".into(),
            })?;
            let size = if order.side == Side::Buy { contracts } else { -contracts };
            let price = if order.order_type == OrderType::Market { "0".to_string() } else { price.unwrap_or_default() };
            let body = json!({
                "contract": pair, "size": size, "price": price, "tif": tif, "text": text,
                "reduce_only": order.reduce_only,
            });
            ("/futures/usdt/orders", body)
        } else {
            let amount = if order.order_type == OrderType::Market && order.side == Side::Buy {
                // Gate's market buy amount is in the quote currency.
                let t = self.ticker(&order.symbol).await?;
                let px = t.ask.or(Some(t.last)).filter(|p| !p.is_zero()).ok_or_else(|| ConnectorError::Rejected {
                    exchange: EX,
                    code: "NO_PRICE".into(),
                    message: "no price to convert a market buy to quote".into(),
                })?;
                (order.quantity * px).normalize()
            } else {
                order.quantity.normalize()
            };
            let mut body = json!({
                "text": text, "currency_pair": pair,
                "type": if order.order_type == OrderType::Market { "market" } else { "limit" },
                "account": "spot", "side": if order.side == Side::Buy { "buy" } else { "sell" },
                "amount": amount.to_string(), "time_in_force": tif,
            });
            if order.order_type != OrderType::Market {
                body["price"] = json!(price.unwrap_or_default());
            }
            ("/spot/orders", body)
        };
        let v = self.signed(Method::POST, path, String::new(), body.to_string()).await?;
        self.parse_order(&v, &sizes)
    }
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(120).collect()
}

fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 28
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn is_duplicate(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Rejected { code, .. }
        if code == "ORDER_EXISTS" || code == "REPEATED_CREATION" || code.contains("DUPLICATE"))
}

impl GateioConnector {
    /// The account's trades in `symbol` (of one order, if given), oldest first.
    async fn trades_where(&self, symbol: &str, limit: usize, order: Option<&str>) -> ConnectorResult<Vec<OwnTrade>> {
        let pair = self.pair(symbol);
        let limit = limit.clamp(1, 1000).to_string();
        let mut trades = if self.futures() {
            let sizes = self.sizes_with(Some(&pair)).await?;
            let mut q = vec![("contract", pair), ("limit", limit)];
            q.extend(order.map(|o| ("order", o.to_string())));
            let v = self.signed(Method::GET, "/futures/usdt/my_trades", query_string(&q), String::new()).await?;
            self.array(v, "my_trades")?
                .iter()
                .map(|t| parse::futures_own_trade(t, &sizes))
                .collect::<Result<Vec<_>, _>>()
        } else {
            let mut q = vec![("currency_pair", pair), ("limit", limit)];
            q.extend(order.map(|o| ("order_id", o.to_string())));
            let v = self.signed(Method::GET, "/spot/my_trades", query_string(&q), String::new()).await?;
            self.array(v, "my_trades")?.iter().map(parse::spot_own_trade).collect::<Result<Vec<_>, _>>()
        }
        .map_err(|e| self.decode(e))?;
        trades.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.trade_id.cmp(&b.trade_id)));
        Ok(trades)
    }
}

#[async_trait]
impl Connector for GateioConnector {
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
        let v = self.public("/spot/time", String::new()).await?;
        let received = RestClient::local_ms();
        let server = v.get("server_time").and_then(Value::as_i64).ok_or_else(|| self.decode("server_time missing"))?;
        self.inner.rest.observe_server_time(server, sent, received);
        Ok(server)
    }

    async fn test_connection(&self) -> ConnectorResult<ConnectionReport> {
        super::probe(self, self.inner.settings.credentials.is_some(), &self.inner.rest).await
    }

    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>> {
        if self.futures() {
            let v = self.public("/futures/usdt/contracts", String::new()).await?;
            let mut sizes = ContractSizes::new();
            let mut rules = Vec::new();
            for c in self.array(v, "contracts")? {
                // A contract that cannot be read in base units is left out; the others stay usable.
                let read = parse::futures_rules(&c).and_then(|r| Ok((r, parse::futures_multiplier(&c)?)));
                match read {
                    Ok((r, per)) => {
                        sizes.insert(r.venue_symbol.clone(), per);
                        rules.push(r);
                    }
                    Err(e) => {
                        tracing::warn!(exchange = %EX, contract = %short(&c["name"]), reason = %e, "contract skipped")
                    }
                }
            }
            *self.inner.sizes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(sizes);
            Ok(rules)
        } else {
            let v = self.public("/spot/currency_pairs", String::new()).await?;
            self.array(v, "currency_pairs")?.iter().map(|c| parse::spot_rules(c).map_err(|e| self.decode(e))).collect()
        }
    }

    async fn ticker(&self, symbol: &str) -> ConnectorResult<Ticker> {
        let pair = self.pair(symbol);
        let (path, key) =
            if self.futures() { ("/futures/usdt/tickers", "contract") } else { ("/spot/tickers", "currency_pair") };
        let v = self.public(path, query_string(&[(key, pair)])).await?;
        let first = self.array(v, "tickers")?.into_iter().next().ok_or_else(|| self.decode("empty ticker list"))?;
        let r = if self.futures() {
            parse::futures_ticker(&first, self.per_contract(symbol).await?)
        } else {
            parse::spot_ticker(&first)
        };
        r.map_err(|e| self.decode(e))
    }

    async fn order_book(&self, symbol: &str, depth: usize) -> ConnectorResult<OrderBook> {
        let pair = self.pair(symbol);
        let (path, key) = if self.futures() {
            ("/futures/usdt/order_book", "contract")
        } else {
            ("/spot/order_book", "currency_pair")
        };
        let q = query_string(&[(key, pair), ("limit", depth.clamp(1, 1000).to_string()), ("with_id", "true".into())]);
        let v = self.public(path, q).await?;
        let book = if self.futures() {
            parse::futures_order_book(&v, symbol, self.per_contract(symbol).await?)
        } else {
            parse::order_book(&v, symbol)
        };
        book.map_err(|e| self.decode(e))
    }

    async fn recent_trades(
        &self,
        symbol: &str,
        from_seq: Option<u64>,
        limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>> {
        let pair = self.pair(symbol);
        let sizes = self.sizes_with(Some(&pair)).await?;
        let limit = limit.clamp(1, 1000).to_string();
        let v = if self.futures() {
            self.public("/futures/usdt/trades", query_string(&[("contract", pair), ("limit", limit)])).await?
        } else {
            let mut params = vec![("currency_pair", pair), ("limit", limit)];
            if let Some(from) = from_seq {
                // Trades with ids above `last_id` (reverse=false), oldest first.
                params.push(("last_id", from.saturating_sub(1).to_string()));
                params.push(("reverse", "false".into()));
            }
            self.public("/spot/trades", query_string(&params)).await?
        };
        let mut trades = self
            .array(v, "trades")?
            .iter()
            .map(|t| if self.futures() { parse::futures_trade(t, &sizes) } else { parse::spot_trade(t) })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.decode(e))?;
        if let Some(from) = from_seq {
            trades.retain(|t| t.seq >= from);
        }
        trades.sort_by_key(|t| t.seq);
        Ok(trades)
    }

    async fn klines_1m(&self, symbol: &str, start_ms: i64, limit: usize) -> ConnectorResult<Vec<Kline>> {
        let pair = self.pair(symbol);
        let per = if self.futures() { self.per_contract(symbol).await? } else { Decimal::ONE };
        let limit = limit.clamp(1, 1000);
        let from = start_ms.div_euclid(1000);
        let to = from + limit as i64 * 60 - 1;
        let (path, key) = if self.futures() {
            ("/futures/usdt/candlesticks", "contract")
        } else {
            ("/spot/candlesticks", "currency_pair")
        };
        let q =
            query_string(&[(key, pair), ("interval", "1m".into()), ("from", from.to_string()), ("to", to.to_string())]);
        let v = self.public(path, q).await?;
        let mut klines =
            self.array(v, "candlesticks")?
                .iter()
                .map(|k| {
                    if self.futures() {
                        parse::futures_candle(k, symbol, per)
                    } else {
                        parse::spot_candle_row(k, symbol)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.decode(e))?;
        klines.retain(|k| k.open_time_ms >= start_ms - start_ms.rem_euclid(60_000));
        klines.sort_by_key(|k| k.open_time_ms);
        klines.truncate(limit);
        Ok(klines)
    }

    async fn balances(&self) -> ConnectorResult<Vec<Balance>> {
        if self.futures() {
            let v = self.signed(Method::GET, "/futures/usdt/accounts", String::new(), String::new()).await?;
            let b = parse::futures_balance(&v).map_err(|e| self.decode(e))?;
            return Ok(vec![b].into_iter().filter(|b| !(b.free + b.locked).is_zero()).collect());
        }
        let v = self.signed(Method::GET, "/spot/accounts", String::new(), String::new()).await?;
        let all = self
            .array(v, "accounts")?
            .iter()
            .map(parse::spot_balance)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.decode(e))?;
        Ok(all.into_iter().filter(|b| !(b.free + b.locked).is_zero()).collect())
    }

    async fn create_order(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        if !valid_client_id(&order.client_order_id) {
            return Err(ConnectorError::Filter {
                symbol: order.symbol.clone(),
                filter: "CLIENT_ORDER_ID",
                reason: "Gate takes 1-28 characters of [A-Za-z0-9_.-] after `t-`".into(),
            });
        }
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
        let id = Self::order_id_path(order);
        let sizes = self.sizes_with(Some(&self.pair(symbol))).await?;
        let v = if self.futures() {
            self.signed(Method::GET, &format!("/futures/usdt/orders/{id}"), String::new(), String::new()).await?
        } else {
            let q = query_string(&[("currency_pair", self.pair(symbol))]);
            match (self.signed(Method::GET, &format!("/spot/orders/{id}"), q, String::new()).await, order) {
                (Ok(v), _) => v,
                // An order that ended over an hour ago is no longer found by `text`: look
                // among the pair's finished orders before calling it never placed.
                (Err(ConnectorError::OrderNotFound { .. }), OrderRef::Client(c)) => {
                    return self.find_finished(symbol, c).await;
                }
                (Err(e), _) => return Err(e),
            }
        };
        self.parse_order(&v, &sizes)
    }

    async fn cancel_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        let id = Self::order_id_path(order);
        let v = if self.futures() {
            self.signed(Method::DELETE, &format!("/futures/usdt/orders/{id}"), String::new(), String::new()).await?
        } else {
            let q = query_string(&[("currency_pair", self.pair(symbol))]);
            self.signed(Method::DELETE, &format!("/spot/orders/{id}"), q, String::new()).await?
        };
        // The cancel is out whatever the sizes; they only read its answer.
        let sizes = self.sizes_with(Some(&self.pair(symbol))).await?;
        self.parse_order(&v, &sizes)
    }

    async fn open_orders(&self, symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>> {
        if self.futures() {
            let mut params = vec![("status", "open".to_string())];
            if let Some(s) = symbol {
                params.push(("contract", self.pair(s)));
            }
            let v = self.signed(Method::GET, "/futures/usdt/orders", query_string(&params), String::new()).await?;
            let orders = self.array(v, "orders")?;
            let sizes = self.sizes_for_all(&orders).await?;
            return self.parse_sized(&orders, &sizes, "open order", parse::futures_order);
        }
        let v = self.signed(Method::GET, "/spot/open_orders", String::new(), String::new()).await?;
        let mut out = Vec::new();
        for group in self.array(v, "open_orders")? {
            let pair = group.get("currency_pair").cloned().unwrap_or(Value::Null);
            for mut o in group.get("orders").and_then(Value::as_array).cloned().unwrap_or_default() {
                if o.get("currency_pair").is_none() {
                    o["currency_pair"] = pair.clone();
                }
                out.push(self.parse_order(&o, &ContractSizes::new())?);
            }
        }
        if let Some(s) = symbol {
            out.retain(|o| o.symbol == s);
        }
        Ok(out)
    }

    async fn my_trades(&self, symbol: &str, limit: usize) -> ConnectorResult<Vec<OwnTrade>> {
        self.trades_where(symbol, limit, None).await
    }

    async fn order_trades(&self, symbol: &str, order_id: &str) -> ConnectorResult<Vec<OwnTrade>> {
        self.trades_where(symbol, 1000, Some(order_id)).await
    }

    async fn positions(&self) -> ConnectorResult<Vec<Position>> {
        if !self.futures() {
            return Err(ConnectorError::Unsupported { exchange: EX, what: "positions on spot" });
        }
        let v = self.signed(Method::GET, "/futures/usdt/positions", String::new(), String::new()).await?;
        let positions = self.array(v, "positions")?;
        let sizes = self.sizes_for_all(&positions).await?;
        self.parse_sized(&positions, &sizes, "position", parse::futures_position)
    }

    async fn set_leverage(&self, symbol: &str, leverage: Decimal) -> ConnectorResult<()> {
        if !self.futures() {
            return Err(ConnectorError::Unsupported { exchange: EX, what: "leverage on spot" });
        }
        let path = format!("/futures/usdt/positions/{}/leverage", self.pair(symbol));
        let q = query_string(&[("leverage", leverage.normalize().to_string())]);
        self.signed(Method::POST, &path, q, String::new()).await?;
        Ok(())
    }

    fn stream(&self, subscriptions: Vec<Subscription>, record: bool) -> ConnectorResult<StreamHandle> {
        let private = subscriptions.contains(&Subscription::Orders);
        let creds = if private { Some(self.creds()?) } else { None };
        let url = if private { self.inner.ws_private.clone() } else { self.inner.ws_public.clone() };
        let protocol = GateWs {
            conn: self.clone(),
            subs: subscriptions,
            url,
            futures: self.futures(),
            creds,
            user_id: None,
            orders: HashMap::new(),
            sizes: Arc::default(),
        };
        let rest: Arc<dyn Connector> = Arc::new(self.clone());
        Ok(super::ws::spawn(protocol, Some(rest), record))
    }
}

/// Gate's WebSocket v4 dialect.
struct GateWs {
    conn: GateioConnector,
    subs: Vec<Subscription>,
    url: String,
    futures: bool,
    creds: Option<Credentials>,
    /// Futures private channels name the user id in their payload.
    user_id: Option<String>,
    /// Latest state of the account's orders, for fills from `*.usertrades`.
    orders: HashMap<String, ExchangeOrder>,
    /// Futures: base units per contract (every contract, loaded before each connection).
    sizes: Arc<ContractSizes>,
}

impl GateWs {
    fn prefix(&self) -> &'static str {
        if self.futures { "futures" } else { "spot" }
    }

    /// The subscribed contracts of a futures session.
    fn contracts(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .subs
            .iter()
            .filter_map(|s| match s {
                Subscription::Trades(x) | Subscription::Klines1m(x) | Subscription::BookTicker(x) => {
                    Some(parse::venue_symbol(x))
                }
                Subscription::Orders => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn now_s(&self) -> i64 {
        self.conn.inner.rest.now_ms().div_euclid(1000)
    }

    fn request(&self, channel: &str, payload: Value, private: bool) -> String {
        let time = self.now_s();
        let mut msg = json!({"time": time, "channel": channel, "event": "subscribe", "payload": payload});
        if private && let Some(c) = &self.creds {
            msg["auth"] = json!({
                "method": "api_key",
                "KEY": c.api_key.expose(),
                "SIGN": sign::sign_ws(c.secret.expose(), channel, "subscribe", time),
            });
        }
        msg.to_string()
    }

    fn remember(&mut self, order: &ExchangeOrder) {
        if self.orders.len() > 10_000 {
            self.orders.clear();
        }
        self.orders.insert(order.order_id.clone(), order.clone());
    }

    /// One entry of a channel's `result`.
    fn on_result(&mut self, channel: &str, r: &Value, out: &mut Vec<StreamEvent>) -> Result<(), String> {
        if super::frames::gate_market(channel, r, &self.sizes, out)? {
            return Ok(());
        }
        let ev = match channel {
            "spot.orders" | "futures.orders" => {
                let order = if self.futures { parse::futures_order(r, &self.sizes)? } else { parse::spot_order(r)? };
                self.remember(&order);
                StreamEvent::Order(OrderUpdate { order, fill: None })
            }
            "spot.usertrades" => StreamEvent::Order(self.fill_update(parse::spot_own_trade(r)?)),
            "futures.usertrades" => StreamEvent::Order(self.fill_update(parse::futures_own_trade(r, &self.sizes)?)),
            _ => return Ok(()),
        };
        out.push(ev);
        Ok(())
    }

    fn fill_update(&self, fill: OwnTrade) -> OrderUpdate {
        let order = self.orders.get(&fill.order_id).cloned().unwrap_or_else(|| ExchangeOrder {
            exchange: EX,
            order_id: fill.order_id.clone(),
            client_order_id: fill.client_order_id.clone().unwrap_or_default(),
            symbol: fill.symbol.clone(),
            side: fill.side,
            order_type: OrderType::Limit,
            status: ExchangeOrderStatus::PartiallyFilled,
            price: Some(fill.price),
            quantity: fill.quantity,
            filled_quantity: fill.quantity,
            filled_quote: Some(fill.price * fill.quantity),
            updated_ms: fill.time_ms,
        });
        OrderUpdate { order, fill: Some(fill) }
    }
}

#[async_trait]
impl WsProtocol for GateWs {
    fn exchange(&self) -> ExchangeId {
        EX
    }

    async fn connect(&mut self) -> ConnectorResult<WsTarget> {
        if self.futures && self.creds.is_some() && self.user_id.is_none() {
            let v = self.conn.signed(Method::GET, "/futures/usdt/accounts", String::new(), String::new()).await?;
            self.user_id = Some(parse::str_field(&v, "user").map_err(|e| self.conn.decode(e))?);
        }
        if self.futures {
            // Sizes arrive in contracts: know every subscribed contract's size (and, for the
            // account's orders, every listed one) before the first frame.
            self.sizes = self.conn.sizes_with(None).await?;
            for c in self.contracts() {
                match self.conn.sizes_with(Some(&c)).await {
                    Ok(sizes) => self.sizes = sizes,
                    // Its frames will not decode; the other contracts' still stream.
                    Err(e) => tracing::error!(exchange = %EX, contract = %c, error = %e, "no contract size"),
                }
            }
        }
        Ok(WsTarget { url: self.url.clone(), ping_interval: std::time::Duration::from_secs(10) })
    }

    fn on_open(&mut self) -> Vec<String> {
        let p = self.prefix();
        let mut frames = Vec::new();
        if self.subs.contains(&Subscription::Orders) {
            let payload = match &self.user_id {
                Some(u) => json!([u, "!all"]),
                None => json!(["!all"]),
            };
            frames.push(self.request(&format!("{p}.orders"), payload.clone(), true));
            frames.push(self.request(&format!("{p}.usertrades"), payload, true));
        }
        for s in &self.subs {
            match s {
                Subscription::Trades(sym) => {
                    frames.push(self.request(&format!("{p}.trades"), json!([parse::venue_symbol(sym)]), false))
                }
                Subscription::Klines1m(sym) => frames.push(self.request(
                    &format!("{p}.candlesticks"),
                    json!(["1m", parse::venue_symbol(sym)]),
                    false,
                )),
                Subscription::BookTicker(sym) => {
                    frames.push(self.request(&format!("{p}.book_ticker"), json!([parse::venue_symbol(sym)]), false))
                }
                Subscription::Orders => {}
            }
        }
        frames
    }

    fn ping(&mut self) -> Option<String> {
        Some(json!({"time": self.now_s(), "channel": format!("{}.ping", self.prefix())}).to_string())
    }

    /// Futures: the subscribed contracts' sizes, as a `futures.contracts` frame of the
    /// host's own, so a replay reads the recorded contract counts in base units.
    fn record_preamble(&self) -> Option<String> {
        if !self.futures {
            return None;
        }
        let result: Vec<Value> = self
            .contracts()
            .iter()
            .filter_map(|c| {
                self.sizes.get(c).map(|m| json!({"name": c, "quanto_multiplier": m.normalize().to_string()}))
            })
            .collect();
        Some(super::frames::gate_contracts_frame(self.now_s(), result))
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let channel = v.get("channel").and_then(Value::as_str).unwrap_or("").to_string();
        let event = v.get("event").and_then(Value::as_str).unwrap_or("");
        if channel.ends_with(".pong") || channel.ends_with(".ping") {
            return Ok(None);
        }
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(format!("{channel} {event}: {err}"));
        }
        if event != "update" && event != "all" {
            return Ok(None);
        }
        let results: Vec<Value> = match v.get("result") {
            Some(Value::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        };
        // Each entry on its own: one that does not decode does not take the others with it.
        let mut failed = Vec::new();
        for r in &results {
            let mut decoded = self.on_result(&channel, r, out);
            if decoded.is_err() && self.futures {
                // A contract listed since this session connected: the connector learnt its
                // size when an order on it was sent.
                let known = self.conn.known_sizes();
                if known.len() > self.sizes.len() {
                    self.sizes = known;
                    decoded = self.on_result(&channel, r, out);
                }
            }
            if let Err(e) = decoded {
                failed.push(e);
            }
        }
        if failed.is_empty() { Ok(None) } else { Err(failed.join("; ")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn ws(futures: bool) -> GateWs {
        let mut s = ConnectorSettings::new(ExchangeId::Gateio);
        s.market = if futures { Market::Futures } else { Market::Spot };
        s.credentials = Some(Credentials::new("k", "s", None));
        let conn = GateioConnector::new(s).unwrap();
        GateWs {
            creds: conn.inner.settings.credentials.clone(),
            conn,
            subs: vec![Subscription::Orders, Subscription::Trades("BTCUSDT".into())],
            url: String::new(),
            futures,
            user_id: futures.then(|| "110".to_string()),
            orders: HashMap::new(),
            sizes: Arc::new([("BTC_USD".to_string(), d("0.001"))].into()),
        }
    }

    #[test]
    fn endpoints_follow_market_and_testnet() {
        let mut s = ConnectorSettings::new(ExchangeId::Gateio);
        let c = GateioConnector::new(s.clone()).unwrap();
        assert_eq!(c.inner.rest.base(), TESTNET_REST_URL);
        assert_eq!(c.inner.ws_public, TESTNET_SPOT_WS_URL);
        s.market = Market::Futures;
        s.testnet = false;
        let c = GateioConnector::new(s.clone()).unwrap();
        assert_eq!((c.inner.rest.base(), c.inner.ws_public.as_str()), (REST_URL, FUTURES_WS_URL));
        s.ws_url = Some("ws://127.0.0.1:9/".into());
        assert_eq!(GateioConnector::new(s).unwrap().inner.ws_private, "ws://127.0.0.1:9/v4/ws/usdt");
    }

    #[test]
    fn subscribe_frames_sign_private_channels() {
        let mut p = ws(false);
        let frames: Vec<Value> = p.on_open().iter().map(|f| serde_json::from_str(f).unwrap()).collect();
        assert_eq!(frames[0]["channel"], "spot.orders");
        let time = frames[0]["time"].as_i64().unwrap();
        assert_eq!(frames[0]["auth"]["SIGN"], sign::sign_ws("s", "spot.orders", "subscribe", time));
        assert_eq!(frames[1]["channel"], "spot.usertrades");
        assert_eq!(frames[2]["channel"], "spot.trades");
        assert_eq!(frames[2]["payload"], json!(["BTC_USDT"]));
        assert!(frames[2].get("auth").is_none());
        let ping: Value = serde_json::from_str(&p.ping().unwrap()).unwrap();
        assert_eq!(ping["channel"], "spot.ping");
        let mut f = ws(true);
        let frames: Vec<Value> = f.on_open().iter().map(|x| serde_json::from_str(x).unwrap()).collect();
        assert_eq!(frames[0]["channel"], "futures.orders");
        assert_eq!(frames[0]["payload"], json!(["110", "!all"]));
    }

    #[test]
    fn futures_frames_from_the_docs_decode() {
        let mut p = ws(true);
        let mut out = Vec::new();
        let dir = format!("{}/../../shared/data/exchange-docs", env!("CARGO_MANIFEST_DIR"));
        for name in ["gate_futures_ws_trades_doc.json", "gate_futures_ws_orders_usertrades_doc.json"] {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap()).unwrap();
            for m in v["messages"].as_array().unwrap() {
                p.on_text(&m.to_string(), &mut out).unwrap();
            }
        }
        assert_eq!(out.len(), 3);
        let StreamEvent::Trade(t) = &out[0] else { panic!("{:?}", out[0]) };
        assert_eq!((t.quantity, t.buyer_maker), (d("0.108"), true), "108 contracts of 0.001");
        assert_eq!(u_qty(&out[1]), d("0.001"), "the order's one contract");
        let StreamEvent::Order(u) = &out[2] else { panic!("{:?}", out[2]) };
        let fill = u.fill.as_ref().unwrap();
        assert_eq!(fill.fee, d("0.0009290592"));
        assert_eq!(u.order.status, ExchangeOrderStatus::Filled, "the fill carries the order's known state");
        assert_eq!(u.order.order_id, "4872460");
        assert_eq!(
            p.on_text(r#"{"time":1,"channel":"futures.pong","event":"","error":null,"result":null}"#, &mut out),
            Ok(None)
        );
        assert!(
            p.on_text(
                r#"{"time":1,"channel":"futures.orders","event":"subscribe","error":{"code":2,"message":"bad"}}"#,
                &mut out
            )
            .is_err()
        );
    }

    /// One entry of an unknown contract does not take the frame's other entries with it,
    /// and a contract the connector learnt since the session connected decodes.
    #[test]
    fn futures_entries_decode_one_by_one() {
        let mut p = ws(true);
        let fill = |contract: &str, id: u64| {
            json!({"id": id.to_string(), "create_time": 1, "create_time_ms": 1000, "contract": contract,
                "order_id": "9", "size": -30, "price": "100", "role": "taker", "text": "t-x", "fee": 0.1})
        };
        let frame = json!({"time": 1, "channel": "futures.usertrades", "event": "update",
            "result": [fill("NEW_USDT", 1), fill("BTC_USD", 2)]})
        .to_string();
        let mut out = Vec::new();
        let err = p.on_text(&frame, &mut out).unwrap_err();
        assert!(err.contains("NEW_USDT"), "{err}");
        let [StreamEvent::Order(u)] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(u.fill.as_ref().unwrap().quantity, d("0.03"), "the known contract's entry: 30 of 0.001");

        *p.conn.inner.sizes.write().unwrap() =
            Arc::new([("BTC_USD".to_string(), d("0.001")), ("NEW_USDT".to_string(), d("10"))].into());
        out.clear();
        p.on_text(&frame, &mut out).unwrap();
        let qty: Vec<Decimal> = out
            .iter()
            .map(|e| match e {
                StreamEvent::Order(u) => u.fill.as_ref().unwrap().quantity,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(qty, vec![d("300"), d("0.03")], "the connector's newer table is taken up");
    }

    fn u_qty(e: &StreamEvent) -> Decimal {
        match e {
            StreamEvent::Order(u) => u.order.quantity,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_ids_and_duplicates() {
        assert!(valid_client_id("abc-123_x.y"));
        assert!(!valid_client_id("a".repeat(29).as_str()));
        assert!(!valid_client_id("bad id"));
        assert!(is_duplicate(&ConnectorError::Rejected {
            exchange: EX,
            code: "ORDER_EXISTS".into(),
            message: String::new()
        }));
        assert!(!is_duplicate(&ConnectorError::Rejected {
            exchange: EX,
            code: "BALANCE_NOT_ENOUGH".into(),
            message: String::new()
        }));
        assert!(is_duplicate(&ConnectorError::Rejected {
            exchange: EX,
            code: "REPEATED_CREATION".into(),
            message: String::new()
        }));
    }
}
