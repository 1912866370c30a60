//! Identifiers and small enums shared by commands, events and the book.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Engine-assigned order id: a counter starting at 1, so replaying the same commands
/// assigns the same ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

/// An account (user) that holds wallets and owns orders. The API maps user names to ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u64);

/// A trading pair, numbered in the order pairs were added (0, 1, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairId(pub u32);

/// A trade, numbered engine-wide from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TradeId(pub u64);

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}
display_inner!(OrderId, AccountId, PairId, TradeId);

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    /// Buy the base asset, pay quote.
    Buy,
    /// Sell the base asset, receive quote.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Order types with Binance spot semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Executes now against the book; any remainder expires.
    Market,
    /// Executes up to its price, the rest rests (per time in force).
    Limit,
    /// Post-only limit: rejected if it would take liquidity.
    LimitMaker,
    /// Market order released when the last price falls to (sell) or rises to (buy) the stop.
    StopLoss,
    /// Limit order released like a stop loss.
    StopLossLimit,
    /// Market order released when the last price rises to (sell) or falls to (buy) the stop.
    TakeProfit,
    /// Limit order released like a take profit.
    TakeProfitLimit,
    /// Limit order showing only `iceberg_qty` at a time.
    Iceberg,
    /// Market order released after the price moves `trailing_delta_bps` against the best
    /// price seen since placement (or since activation).
    TrailingStop,
}

impl OrderType {
    /// Binance's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "MARKET",
            OrderType::Limit => "LIMIT",
            OrderType::LimitMaker => "LIMIT_MAKER",
            OrderType::StopLoss => "STOP_LOSS",
            OrderType::StopLossLimit => "STOP_LOSS_LIMIT",
            OrderType::TakeProfit => "TAKE_PROFIT",
            OrderType::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
            OrderType::Iceberg => "ICEBERG",
            OrderType::TrailingStop => "TRAILING_STOP",
        }
    }

    /// Whether the order waits for a trigger before it reaches the book.
    pub fn is_conditional(self) -> bool {
        matches!(
            self,
            OrderType::StopLoss
                | OrderType::StopLossLimit
                | OrderType::TakeProfit
                | OrderType::TakeProfitLimit
                | OrderType::TrailingStop
        )
    }

    /// Whether the order carries a limit price (directly or once triggered).
    pub fn has_limit_price(self) -> bool {
        matches!(
            self,
            OrderType::Limit
                | OrderType::LimitMaker
                | OrderType::StopLossLimit
                | OrderType::TakeProfitLimit
                | OrderType::Iceberg
        )
    }
}

impl fmt::Display for OrderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long an order works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeInForce {
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel: the unfilled rest expires.
    Ioc,
    /// Fill or kill: all at once or nothing (EXPIRED).
    Fok,
    /// Until the end of the UTC day of its event time, removed by a `Sweep` command.
    Day,
    /// Good till date: until `expire_ms` (event time), removed by a `Sweep` command.
    Gtd {
        /// Expiry, ms since the Unix epoch; the API maps `expires_hours` to this.
        expire_ms: i64,
    },
}

impl TimeInForce {
    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::Day => "DAY",
            TimeInForce::Gtd { .. } => "GTD",
        }
    }

    /// Whether an unfilled remainder may rest on the book.
    pub fn rests(self) -> bool {
        !matches!(self, TimeInForce::Ioc | TimeInForce::Fok)
    }
}

/// Self-trade prevention: what happens when a taker meets a resting order of the same
/// account. The taker's mode decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StpMode {
    /// Trade with yourself.
    #[default]
    None,
    /// The taker's remainder ends EXPIRED_IN_MATCH.
    ExpireTaker,
    /// The resting order ends EXPIRED_IN_MATCH; the taker goes on matching.
    ExpireMaker,
    /// Both end EXPIRED_IN_MATCH.
    ExpireBoth,
}

/// Order lifecycle, with Binance's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted, working (resting or waiting for its trigger), nothing executed.
    New,
    /// Some executed, the rest still working.
    PartiallyFilled,
    /// Fully executed.
    Filled,
    /// Canceled by its owner.
    Canceled,
    /// Ended by its time in force (IOC/FOK/market remainder, DAY/GTD expiry).
    Expired,
    /// Refused at placement; the `Rejected` event says why.
    Rejected,
    /// Ended by self-trade prevention.
    ExpiredInMatch,
}

impl OrderStatus {
    /// Binance's name for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Expired => "EXPIRED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::ExpiredInMatch => "EXPIRED_IN_MATCH",
        }
    }

    /// Whether the order can still execute.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}
