//! Exchange connectors: Binance, Gate.io, KuCoin and Bybit behind one [`Connector`]
//! interface, testnet by default.
//!
//! | file | owns |
//! | --- | --- |
//! | `types.rs` | the normalised requests, responses and stream events |
//! | `credentials.rs` | API keys from the environment, redacted everywhere |
//! | `vault.rs` | keys stored through the API, AES-256-GCM at rest |
//! | `sign.rs` | HMAC helpers shared by the venues |
//! | `rest.rs` | the HTTP client: request-weight limiter, 429/418 + Retry-After, clock offset |
//! | `ws.rs` | a WebSocket session: heartbeats, jittered reconnect, resubscribe, raw frames |
//! | `json.rs` | exact decimals and fields from exchange JSON, venue symbol spellings |
//! | `gaps.rs` | trade-sequence gap detection |
//! | `frames.rs` | any venue's market-data frame, without a session (replay of recordings) |
//! | `filters.rs` | rounding to tick/lot and the min-notional check before an order leaves |
//! | `registry.rs` | creating connectors by name |
//! | `latency.rs` | opt-in probe: frame received to signed order request (benchmark) |
//! | `record.rs` | record mode: raw frames as `<recv_ts_ns> <frame>` lines |
//! | `manager.rs` | the API's exchange connections (environment + stored, sealed keys) |
//! | `binance/`, `gateio/`, `kucoin/`, `bybit/` | one venue each: endpoints, signing, parsing |
//!
//! Every venue folder has `sign.rs` (the venue's string-to-sign rules, tested against
//! the official vectors or documented examples), `parse.rs` (wire format to
//! [`types`]) and `mod.rs` (the [`Connector`] implementation and its WebSocket protocol).

pub mod binance;
pub mod bybit;
pub mod credentials;
pub mod filters;
pub mod frames;
pub mod gaps;
pub mod gateio;
pub mod json;
pub mod kucoin;
pub mod latency;
pub mod manager;
pub mod record;
pub mod registry;
pub mod rest;
pub mod sign;
pub mod types;
pub mod vault;
pub mod ws;

pub use credentials::Credentials;
pub use registry::{ConnectorRegistry, ConnectorSettings};
pub use types::*;

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::time::Duration;
use tokio::sync::mpsc;

/// Errors of any connector call, normalised across venues.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The request could not be sent or the socket failed.
    #[error("{exchange}: network error: {reason}")]
    Network {
        /// Exchange.
        exchange: ExchangeId,
        /// What failed.
        reason: String,
    },
    /// Throttled (HTTP 429): wait `retry_after` before the next request.
    #[error("{exchange}: rate limited, retry after {}s", retry_after.as_secs())]
    RateLimited {
        /// Exchange.
        exchange: ExchangeId,
        /// How long the exchange asked us to wait.
        retry_after: Duration,
    },
    /// Banned for ignoring 429s (Binance HTTP 418): nothing is sent until `retry_after` passed.
    #[error("{exchange}: IP banned for {}s (HTTP 418)", retry_after.as_secs())]
    Banned {
        /// Exchange.
        exchange: ExchangeId,
        /// How long the ban lasts.
        retry_after: Duration,
    },
    /// Keys missing, wrong or not allowed to do this.
    #[error("{exchange}: authentication failed: {reason}")]
    Auth {
        /// Exchange.
        exchange: ExchangeId,
        /// The exchange's words.
        reason: String,
    },
    /// The exchange refused the request (bad order, unknown symbol, insufficient balance...).
    #[error("{exchange}: rejected ({code}): {message}")]
    Rejected {
        /// Exchange.
        exchange: ExchangeId,
        /// The venue's error code.
        code: String,
        /// The venue's message.
        message: String,
    },
    /// The order does not exist on the exchange.
    #[error("{exchange}: order not found")]
    OrderNotFound {
        /// Exchange.
        exchange: ExchangeId,
    },
    /// The answer could not be understood.
    #[error("{exchange}: cannot decode response: {reason}")]
    Decode {
        /// Exchange.
        exchange: ExchangeId,
        /// What was wrong.
        reason: String,
    },
    /// The order breaks the symbol's filters; nothing was sent.
    #[error("{symbol}: {filter} filter: {reason}")]
    Filter {
        /// Symbol.
        symbol: String,
        /// `PRICE_FILTER`, `LOT_SIZE`, `MIN_NOTIONAL`, ...
        filter: &'static str,
        /// What is allowed.
        reason: String,
    },
    /// The venue or market does not offer this call (e.g. positions on spot).
    #[error("{exchange}: {what} is not supported")]
    Unsupported {
        /// Exchange.
        exchange: ExchangeId,
        /// The call.
        what: &'static str,
    },
    /// Trading is stopped by the kill switch or a risk limit.
    #[error("trading halted: {0}")]
    Halted(String),
}

impl ConnectorError {
    /// How long to wait before trying again: what the exchange asked for after a 429/418,
    /// a short pause after a network failure, None for a definite answer.
    pub fn retry_wait(&self) -> Option<Duration> {
        match self {
            ConnectorError::RateLimited { retry_after, .. } | ConnectorError::Banned { retry_after, .. } => {
                Some(*retry_after)
            }
            ConnectorError::Network { .. } => Some(Duration::from_millis(250)),
            _ => None,
        }
    }

    /// True for errors after which the same request may succeed if retried (network
    /// failures and throttling), as opposed to a definite answer from the exchange.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::Network { .. } | ConnectorError::RateLimited { .. } | ConnectorError::Banned { .. }
        )
    }
}

/// Result of connector calls.
pub type ConnectorResult<T> = Result<T, ConnectorError>;

/// Send an order so that a retry never makes a second one. `send` places it (its answer
/// may carry only ids: `None`, then the order is read back); `lookup` reads it by its
/// client order id. A duplicate client id (`is_duplicate`) means the first try got
/// through: the existing order is returned. A network failure leaves the outcome unknown:
/// the order is looked up, and sent once more only if the exchange does not know it.
pub async fn submit_idempotent<S, SF, L, LF>(
    exchange: ExchangeId,
    send: S,
    lookup: L,
    is_duplicate: fn(&ConnectorError) -> bool,
) -> ConnectorResult<ExchangeOrder>
where
    S: Fn() -> SF,
    SF: std::future::Future<Output = ConnectorResult<Option<ExchangeOrder>>>,
    L: Fn() -> LF,
    LF: std::future::Future<Output = ConnectorResult<ExchangeOrder>>,
{
    for attempt in 0..2 {
        match send().await {
            Ok(Some(order)) => return Ok(order),
            Ok(None) => return lookup().await,
            Err(e) if is_duplicate(&e) => {
                tracing::info!(%exchange, "client order id already used: returning the existing order");
                return lookup().await;
            }
            Err(e @ ConnectorError::Network { .. }) => {
                tracing::warn!(%exchange, error = %e, "order submit failed on the network; looking it up before resending");
                match lookup().await {
                    Ok(found) => return Ok(found),
                    Err(ConnectorError::OrderNotFound { .. }) if attempt == 0 => continue,
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(ConnectorError::Network { exchange, reason: "order submit failed twice".into() })
}

/// The common `test_connection`: read the server time (which also measures the clock
/// offset), then, with keys, make one signed call (`balances`) to see whether they work.
pub async fn probe<C: Connector + ?Sized>(
    c: &C,
    has_keys: bool,
    rest: &rest::RestClient,
) -> ConnectorResult<ConnectionReport> {
    let start = std::time::Instant::now();
    c.server_time().await?;
    let latency_ms = start.elapsed().as_millis() as u64;
    let authenticated = match has_keys {
        false => None,
        true => match c.balances().await {
            Ok(_) => Some(true),
            Err(ConnectorError::Auth { .. }) => Some(false),
            Err(e) => return Err(e),
        },
    };
    Ok(ConnectionReport {
        exchange: c.exchange(),
        testnet: c.testnet(),
        reachable: true,
        clock_offset_ms: rest.clock_offset_ms(),
        authenticated,
        latency_ms,
    })
}

/// A live stream: normalised events plus, if asked for, every raw frame as received.
pub struct StreamHandle {
    /// Normalised events, in order.
    pub events: mpsc::Receiver<StreamEvent>,
    /// Raw frames for record mode (None unless requested).
    pub raw: Option<mpsc::Receiver<RawFrame>>,
    /// Dropping or aborting this stops the session.
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One exchange: REST calls and WebSocket streams, normalised. Symbols are in the host
/// spelling (`BTCUSDT`); each connector maps them to and from its own.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Which exchange.
    fn exchange(&self) -> ExchangeId;
    /// Testnet endpoints in use.
    fn testnet(&self) -> bool;
    /// Spot or futures.
    fn market(&self) -> Market;

    /// Server time in ms; also refreshes the clock offset applied to signed timestamps.
    async fn server_time(&self) -> ConnectorResult<i64>;
    /// Reachability, clock offset, and whether the keys work.
    async fn test_connection(&self) -> ConnectorResult<ConnectionReport>;
    /// Trading rules of every symbol.
    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>>;
    /// Symbols that can be traded now.
    async fn symbols(&self) -> ConnectorResult<Vec<String>> {
        Ok(self.exchange_info().await?.into_iter().filter(|r| r.trading).map(|r| r.symbol).collect())
    }
    /// 24h ticker of a symbol.
    async fn ticker(&self, symbol: &str) -> ConnectorResult<Ticker>;
    /// Depth snapshot, `depth` levels per side.
    async fn order_book(&self, symbol: &str, depth: usize) -> ConnectorResult<OrderBook>;
    /// Recent public trades; `from_seq` asks for trades from that sequence on where the
    /// venue supports it (gap backfill).
    async fn recent_trades(
        &self,
        symbol: &str,
        from_seq: Option<u64>,
        limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>>;
    /// 1-minute klines from `start_ms` (inclusive), oldest first.
    async fn klines_1m(&self, symbol: &str, start_ms: i64, limit: usize) -> ConnectorResult<Vec<Kline>>;

    /// Balances of the account (non-zero ones).
    async fn balances(&self) -> ConnectorResult<Vec<Balance>>;
    /// Send an order (already rounded to the symbol's filters).
    async fn create_order(&self, order: &OrderRequest) -> ConnectorResult<ExchangeOrder>;
    /// Look an order up.
    async fn get_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder>;
    /// Cancel an order.
    async fn cancel_order(&self, symbol: &str, order: &OrderRef) -> ConnectorResult<ExchangeOrder>;
    /// Open orders, of one symbol or all.
    async fn open_orders(&self, symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>>;
    /// The account's fills in a symbol, newest last.
    async fn my_trades(&self, symbol: &str, limit: usize) -> ConnectorResult<Vec<OwnTrade>>;
    /// The trades of one order (the exchange's order id), oldest first. Venues that
    /// filter by order are asked for that order only, so a busy account's latest page
    /// cannot leave its trades out; the default filters the symbol's latest trades.
    async fn order_trades(&self, symbol: &str, order_id: &str) -> ConnectorResult<Vec<OwnTrade>> {
        Ok(self.my_trades(symbol, 1000).await?.into_iter().filter(|t| t.order_id == order_id).collect())
    }
    /// Futures positions.
    async fn positions(&self) -> ConnectorResult<Vec<Position>> {
        Err(ConnectorError::Unsupported { exchange: self.exchange(), what: "positions" })
    }
    /// Futures leverage of a symbol.
    async fn set_leverage(&self, _symbol: &str, _leverage: Decimal) -> ConnectorResult<()> {
        Err(ConnectorError::Unsupported { exchange: self.exchange(), what: "leverage" })
    }

    /// Open a WebSocket session for these subscriptions. It reconnects with jittered
    /// backoff, resubscribes, answers heartbeats and backfills trade gaps over REST;
    /// with `record`, every raw frame is also delivered.
    fn stream(&self, subscriptions: Vec<Subscription>, record: bool) -> ConnectorResult<StreamHandle>;
}
