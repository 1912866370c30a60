//! Orders and fills as the host records them.

use crate::market_data::SymbolId;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

impl Side {
    /// `BUY` or `SELL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// At the last trade price, now.
    Market,
    /// Resting until the market trades at or through the limit.
    Limit(Decimal),
    /// A market order released when the last price reaches the stop.
    StopMarket(Decimal),
}

impl OrderKind {
    /// `MARKET`, `LIMIT` or `STOP_LOSS` (Binance's names).
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderKind::Market => "MARKET",
            OrderKind::Limit(_) => "LIMIT",
            OrderKind::StopMarket(_) => "STOP_LOSS",
        }
    }

    /// The limit or stop price, if any.
    pub fn price(&self) -> Option<Decimal> {
        match self {
            OrderKind::Market => None,
            OrderKind::Limit(p) | OrderKind::StopMarket(p) => Some(*p),
        }
    }
}

/// Order lifecycle (Binance's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted and working.
    New,
    /// Completely executed.
    Filled,
    /// Canceled by the strategy or the operator.
    Canceled,
    /// Refused by risk checks or the venue; `reason` says why.
    Rejected,
}

impl OrderStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Rejected => "REJECTED",
        }
    }
}

/// An order from a strategy instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Host-wide id, increasing.
    pub id: u64,
    /// Strategy instance that asked for it.
    pub instance: String,
    /// Symbol.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Market, limit or stop.
    pub kind: OrderKind,
    /// Ordered quantity, base units.
    pub qty: Decimal,
    /// Executed so far.
    pub filled: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// Why it was rejected, if it was.
    pub reason: Option<String>,
    /// The strategy's tag.
    pub tag: String,
    /// Event time of creation, ms.
    pub time_ms: i64,
}

/// One execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// The order.
    pub order_id: u64,
    /// Strategy instance.
    pub instance: String,
    /// Symbol.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Fee, valued in the quote asset.
    pub fee: Decimal,
    /// The part of the fee an exchange took in the base asset (out of a buy's quantity), in
    /// base units: the account gets that much less base and pays no quote fee. Zero when
    /// the fee is paid in the quote asset (paper venue, backtests).
    pub fee_base: Decimal,
    /// The fee was paid in a third asset the account does not hold (BNB, KCS, GT): `fee`
    /// is its quote value, counted in the position's fees; no balance pays it.
    pub fee_outside: bool,
    /// PnL realised by this fill (sells), before fees.
    pub realized_pnl: Decimal,
    /// Event time, ms.
    pub time_ms: i64,
}

impl Fill {
    /// A fill of `order` (the realised PnL is set when an account applies it).
    pub fn of(order: &Order, price: Decimal, qty: Decimal, fee: Decimal, time_ms: i64) -> Fill {
        Fill {
            order_id: order.id,
            instance: order.instance.clone(),
            symbol: order.symbol,
            side: order.side,
            price,
            qty,
            fee,
            fee_base: Decimal::ZERO,
            fee_outside: false,
            realized_pnl: Decimal::ZERO,
            time_ms,
        }
    }
}
