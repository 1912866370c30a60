//! The normalised vocabulary every connector speaks: requests, responses and stream
//! events, all with exact decimals and the host's `BTCUSDT` symbol spelling.

use crate::execution::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The exchanges the host connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeId {
    /// Binance spot.
    Binance,
    /// Gate.io v4 (spot and USDT futures).
    Gateio,
    /// KuCoin spot.
    Kucoin,
    /// Bybit v5 (spot and linear).
    Bybit,
}

impl ExchangeId {
    /// Every supported exchange.
    pub const ALL: [ExchangeId; 4] = [ExchangeId::Binance, ExchangeId::Gateio, ExchangeId::Kucoin, ExchangeId::Bybit];

    /// Lower-case name as used in `plugins.toml` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeId::Binance => "binance",
            ExchangeId::Gateio => "gateio",
            ExchangeId::Kucoin => "kucoin",
            ExchangeId::Bybit => "bybit",
        }
    }

    /// Parse a name (`binance`, `gate`, `gateio`, `gate.io`, `kucoin`, `bybit`).
    pub fn parse(raw: &str) -> Option<ExchangeId> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "binance" => Some(ExchangeId::Binance),
            "gate" | "gateio" | "gate.io" => Some(ExchangeId::Gateio),
            "kucoin" => Some(ExchangeId::Kucoin),
            "bybit" => Some(ExchangeId::Bybit),
            _ => None,
        }
    }

    /// Prefix of the environment variables holding this exchange's keys and endpoints
    /// (`BINANCE_API_KEY`, `GATEIO_API_SECRET`, `KUCOIN_PASSPHRASE`, `BYBIT_REST_URL`, ...).
    pub fn env_prefix(self) -> &'static str {
        match self {
            ExchangeId::Binance => "BINANCE",
            ExchangeId::Gateio => "GATEIO",
            ExchangeId::Kucoin => "KUCOIN",
            ExchangeId::Bybit => "BYBIT",
        }
    }
}

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Spot or USDT-margined perpetuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    /// Spot.
    #[default]
    Spot,
    /// USDT-margined perpetual futures (Gate.io `futures/usdt`, Bybit `linear`).
    Futures,
}

/// Order type as the connectors send it. Exchange filters are applied before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Market order.
    Market,
    /// Limit order.
    Limit,
    /// Post-only limit order (rejected by the exchange if it would take).
    LimitMaker,
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimeInForce {
    /// Good till canceled.
    #[default]
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
}

impl TimeInForce {
    /// `GTC`, `IOC` or `FOK`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        }
    }
}

/// A new order. `client_order_id` makes a retried submit idempotent: the exchange
/// refuses a second order with the same id, and the host then looks the first one up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Host spelling, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Market, limit or post-only.
    pub order_type: OrderType,
    /// Base quantity, on every venue (Gate.io futures connectors convert it to contracts).
    pub quantity: Decimal,
    /// Limit price (limit and post-only orders).
    pub price: Option<Decimal>,
    /// Time in force of limit orders.
    #[serde(default)]
    pub time_in_force: TimeInForce,
    /// Client order id, at most 32 characters of `[A-Za-z0-9_-]` (every venue accepts that).
    pub client_order_id: String,
    /// Futures only: only reduce a position.
    #[serde(default)]
    pub reduce_only: bool,
}

impl OrderRequest {
    /// The price of a limit or post-only order; a [`ConnectorError::Filter`] without one.
    pub fn limit_price(&self) -> super::ConnectorResult<Decimal> {
        self.price.ok_or_else(|| super::ConnectorError::Filter {
            symbol: self.symbol.clone(),
            filter: "PRICE_FILTER",
            reason: "a limit order needs a price".into(),
        })
    }
}

/// Which order to look up or cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// The exchange's order id.
    Exchange(String),
    /// The client order id the host gave it.
    Client(String),
}

/// Normalised order status (Binance's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExchangeOrderStatus {
    /// Working, nothing filled.
    New,
    /// Working, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Canceled (possibly after partial fills).
    Canceled,
    /// Expired (IOC/FOK remainder, or by the exchange).
    Expired,
    /// Refused by the exchange.
    Rejected,
}

impl ExchangeOrderStatus {
    /// True while the order can still fill.
    pub fn is_open(self) -> bool {
        matches!(self, ExchangeOrderStatus::New | ExchangeOrderStatus::PartiallyFilled)
    }
}

/// An order as the exchange reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrder {
    /// Exchange.
    pub exchange: ExchangeId,
    /// The exchange's id.
    pub order_id: String,
    /// The client order id.
    pub client_order_id: String,
    /// Host spelling.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Status.
    pub status: ExchangeOrderStatus,
    /// Limit price, if any.
    pub price: Option<Decimal>,
    /// Ordered quantity.
    pub quantity: Decimal,
    /// Filled so far.
    pub filled_quantity: Decimal,
    /// Quote amount filled so far (sum of price * qty), when the exchange reports it.
    pub filled_quote: Option<Decimal>,
    /// Last update, ms since the epoch.
    pub updated_ms: i64,
}

impl ExchangeOrder {
    /// Average fill price, when something filled and the quote amount is known.
    pub fn average_price(&self) -> Option<Decimal> {
        let quote = self.filled_quote?;
        (!self.filled_quantity.is_zero()).then(|| quote / self.filled_quantity)
    }
}

/// One of the account's own fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnTrade {
    /// Exchange.
    pub exchange: ExchangeId,
    /// The exchange's trade id.
    pub trade_id: String,
    /// The order it belongs to.
    pub order_id: String,
    /// The client order id, when the venue reports it with the fill.
    pub client_order_id: Option<String>,
    /// Host spelling.
    pub symbol: String,
    /// Side of our order.
    pub side: Side,
    /// Fill price.
    pub price: Decimal,
    /// Fill quantity.
    pub quantity: Decimal,
    /// Fee charged.
    pub fee: Decimal,
    /// Asset the fee was charged in.
    pub fee_asset: String,
    /// True when our order was resting.
    pub is_maker: bool,
    /// Fill time, ms since the epoch.
    pub time_ms: i64,
}

/// An update of one of the account's orders (Binance `executionReport`, Gate.io
/// `spot.orders`, KuCoin `/spotMarket/tradeOrdersV2`, Bybit `order` + `execution`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// The order after the update.
    pub order: ExchangeOrder,
    /// The fill this update reports, if it reports one.
    pub fill: Option<OwnTrade>,
}

/// One public trade with the venue's own symbol already mapped to the host spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicTrade {
    /// Host spelling.
    pub symbol: String,
    /// Venue trade id; `seq` is the part that increases by one per trade when the venue
    /// numbers trades contiguously per symbol (Binance), else a monotonic sequence.
    pub trade_id: String,
    /// Numeric, per-symbol monotonic sequence (used for gap detection where contiguous).
    pub seq: u64,
    /// Trade price.
    pub price: Decimal,
    /// Trade quantity (base units).
    pub quantity: Decimal,
    /// True when the buyer was the resting order (the aggressor sold).
    pub buyer_maker: bool,
    /// Trade time, ms since the epoch.
    pub time_ms: i64,
}

impl PublicTrade {
    /// The trade as the core sees it, published under market `symbol`.
    pub fn tick(&self, symbol: crate::market_data::SymbolId) -> crate::market_data::Tick {
        crate::market_data::Tick {
            symbol,
            time_ms: self.time_ms,
            price: self.price,
            qty: self.quantity,
            trade_id: self.seq,
            buyer_maker: self.buyer_maker,
        }
    }
}

/// A 1-minute candle from the venue's kline stream or REST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kline {
    /// Host spelling.
    pub symbol: String,
    /// Open time, ms.
    pub open_time_ms: i64,
    /// Open.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Close.
    pub close: Decimal,
    /// Base volume.
    pub volume: Decimal,
    /// True once the venue says the candle is final.
    pub closed: bool,
}

/// Best bid and ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Host spelling.
    pub symbol: String,
    /// Best bid.
    pub bid: Decimal,
    /// Quantity at the best bid.
    pub bid_qty: Decimal,
    /// Best ask.
    pub ask: Decimal,
    /// Quantity at the best ask.
    pub ask_qty: Decimal,
    /// Event time if the venue sends one.
    pub time_ms: Option<i64>,
}

impl Quote {
    /// The best bid/ask as the core sees it, published under market `symbol`.
    pub fn book(&self, symbol: crate::market_data::SymbolId) -> crate::market_data::BookTicker {
        crate::market_data::BookTicker {
            symbol,
            bid: self.bid,
            bid_qty: self.bid_qty,
            ask: self.ask,
            ask_qty: self.ask_qty,
        }
    }
}

/// 24h ticker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticker {
    /// Host spelling.
    pub symbol: String,
    /// Last trade price.
    pub last: Decimal,
    /// Best bid, if reported.
    pub bid: Option<Decimal>,
    /// Best ask, if reported.
    pub ask: Option<Decimal>,
    /// 24h base volume, if reported.
    pub volume_24h: Option<Decimal>,
}

/// A depth snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBook {
    /// Host spelling.
    pub symbol: String,
    /// Bids, best first: (price, quantity).
    pub bids: Vec<(Decimal, Decimal)>,
    /// Asks, best first.
    pub asks: Vec<(Decimal, Decimal)>,
    /// Venue sequence / update id, if any.
    pub sequence: Option<u64>,
}

/// One asset of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Asset, e.g. `USDT`.
    pub asset: String,
    /// Available.
    pub free: Decimal,
    /// Locked in orders.
    pub locked: Decimal,
}

/// A futures position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Host spelling.
    pub symbol: String,
    /// Signed size: positive long, negative short.
    pub size: Decimal,
    /// Average entry price.
    pub entry_price: Decimal,
    /// Unrealised PnL as the venue reports it.
    pub unrealized_pnl: Decimal,
    /// Leverage.
    pub leverage: Decimal,
}

/// Trading rules of one symbol: what an order must satisfy before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolRules {
    /// Host spelling, e.g. `BTCUSDT`.
    pub symbol: String,
    /// The venue's own spelling, e.g. `BTC_USDT`, `BTC-USDT`.
    pub venue_symbol: String,
    /// Base asset.
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub lot_size: Decimal,
    /// Minimum quantity.
    pub min_qty: Decimal,
    /// Maximum quantity, if limited.
    pub max_qty: Option<Decimal>,
    /// Minimum price * quantity.
    pub min_notional: Decimal,
    /// False when the venue has halted trading in it.
    pub trading: bool,
}

/// What `test_connection` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Exchange.
    pub exchange: ExchangeId,
    /// Testnet endpoints in use.
    pub testnet: bool,
    /// The REST endpoint answered.
    pub reachable: bool,
    /// Server time minus local time, ms.
    pub clock_offset_ms: i64,
    /// Signed requests were accepted (None without keys).
    pub authenticated: Option<bool>,
    /// Round-trip time of the time request, ms.
    pub latency_ms: u64,
}

/// A market-data or account stream to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// Public trades of a symbol (host spelling).
    Trades(String),
    /// 1-minute klines.
    Klines1m(String),
    /// Best bid/ask.
    BookTicker(String),
    /// The account's order updates (needs keys).
    Orders,
}

/// What a stream delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum StreamEvent {
    /// A public trade.
    Trade(PublicTrade),
    /// A kline update.
    Kline(Kline),
    /// Best bid/ask.
    Quote(Quote),
    /// One of the account's orders changed.
    Order(OrderUpdate),
    /// The socket (re)connected and every subscription was sent again; `attempt` is 0 on
    /// the first connection.
    Connected {
        /// Reconnect attempt that succeeded.
        attempt: u32,
    },
    /// The socket dropped; the session reconnects with backoff.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// Trades were missing between two received ids and were fetched over REST; the
    /// fetched trades follow as `Trade` events before the one that revealed the gap.
    GapFilled {
        /// Host spelling.
        symbol: String,
        /// First missing sequence.
        from: u64,
        /// Last missing sequence.
        to: u64,
        /// How many were recovered.
        recovered: usize,
    },
    /// After a reconnect, trades between `after_seq` and `before_seq` may be lost: the
    /// venue's recent-trades window no longer reached back to the last trade seen (venues
    /// that cannot page through their history, such as KuCoin's last 100 trades), or the
    /// backfill gave up (its requests failed, or it reached its page limit), in which case
    /// `before_*` is `None` and the loss may run up to the first trade of the resumed
    /// stream. Candles of the minutes in between may be incomplete: the host replaces them
    /// with the venue's klines once they close.
    TradesMissed {
        /// Host spelling.
        symbol: String,
        /// Sequence of the last trade received before the possible loss.
        after_seq: u64,
        /// Event time of that trade, ms.
        after_ms: i64,
        /// Sequence of the first trade received after it, if known.
        before_seq: Option<u64>,
        /// Its event time, ms.
        before_ms: Option<i64>,
    },
}

/// A raw frame as received, for record mode: `<recv_ts_ns> <frame>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Receive time, ns since the epoch.
    pub recv_ts_ns: i64,
    /// The frame text.
    pub text: String,
}
