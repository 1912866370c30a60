//! Why a command was refused. Every filter rejection names the filter (Binance's name)
//! and the allowed value, so a client can fix the order without reading the docs.

use super::types::{OrderId, OrderType};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The reason carried by [`super::Event::Rejected`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RejectReason {
    /// PRICE_FILTER: price not on the tick grid.
    #[error("PRICE_FILTER: {field} {price} is not a multiple of tick size {tick_size}")]
    PriceTick {
        /// `price`, `stop_price` or `activation_price`.
        field: String,
        /// The price given.
        price: Decimal,
        /// The pair's tick size.
        tick_size: Decimal,
    },
    /// PRICE_FILTER: zero, negative or too large price.
    #[error("PRICE_FILTER: {field} {price} must be above 0 and at most {max_price}")]
    PriceRange {
        /// `price`, `stop_price` or `activation_price`.
        field: String,
        /// The price given.
        price: Decimal,
        /// The largest price accepted.
        max_price: Decimal,
    },
    /// LOT_SIZE: quantity not on the step grid.
    #[error("LOT_SIZE: {field} {qty} is not a multiple of step size {step_size}")]
    QtyStep {
        /// `quantity` or `iceberg_qty`.
        field: String,
        /// The quantity given.
        qty: Decimal,
        /// The pair's step size.
        step_size: Decimal,
    },
    /// LOT_SIZE: below the minimum quantity.
    #[error("LOT_SIZE: quantity {qty} is below the minimum quantity {min_qty}")]
    MinQty {
        /// The quantity given.
        qty: Decimal,
        /// The pair's minimum.
        min_qty: Decimal,
    },
    /// LOT_SIZE: above the maximum quantity.
    #[error("LOT_SIZE: quantity {qty} is above the maximum quantity {max_qty}")]
    MaxQty {
        /// The quantity given.
        qty: Decimal,
        /// The pair's maximum.
        max_qty: Decimal,
    },
    /// MIN_NOTIONAL: price * quantity below the minimum.
    #[error("MIN_NOTIONAL: notional {notional} is below the minimum notional {min_notional}")]
    MinNotional {
        /// Price * quantity (or the quote quantity).
        notional: Decimal,
        /// The pair's minimum.
        min_notional: Decimal,
    },
    /// MAX_ORDER_SIZE: price * quantity above the maximum order size (in quote).
    #[error("MAX_ORDER_SIZE: notional {notional} is above the maximum order size {max_notional}")]
    MaxNotional {
        /// Price * quantity (or the quote quantity).
        notional: Decimal,
        /// The pair's maximum.
        max_notional: Decimal,
    },
    /// ICEBERG_PARTS: too many slices, or a slice not smaller than the order.
    #[error("ICEBERG_PARTS: iceberg_qty {iceberg_qty} of quantity {qty} makes {parts} parts; allowed 2..={max_parts}")]
    IcebergParts {
        /// The visible slice.
        iceberg_qty: Decimal,
        /// The order quantity.
        qty: Decimal,
        /// `ceil(qty / iceberg_qty)`.
        parts: u64,
        /// The pair's limit.
        max_parts: u32,
    },
    /// TRAILING_DELTA: delta out of range.
    #[error("TRAILING_DELTA: trailing delta {delta_bps} bps is outside the allowed {min_bps}..={max_bps} bps")]
    TrailingDelta {
        /// The delta given.
        delta_bps: u32,
        /// Smallest allowed.
        min_bps: u32,
        /// Largest allowed.
        max_bps: u32,
    },
    /// Not enough available balance to lock.
    #[error("insufficient balance: {asset} needed {needed}, available {available}")]
    InsufficientBalance {
        /// The asset short.
        asset: String,
        /// Amount the order needs locked (or a withdrawal needs).
        needed: Decimal,
        /// Available (balance minus locked).
        available: Decimal,
    },
    /// A stop already satisfied by the last traded price.
    #[error("Order would trigger immediately. (stop price {stop_price}, last traded price {last_price})")]
    WouldTriggerImmediately {
        /// The stop price.
        stop_price: Decimal,
        /// The pair's last traded price.
        last_price: Decimal,
    },
    /// LIMIT_MAKER that would cross the book.
    #[error("Order would immediately match and take. (LIMIT_MAKER price {price}, best opposite price {best})")]
    WouldMatchAndTake {
        /// The maker's price.
        price: Decimal,
        /// The best opposite price.
        best: Decimal,
    },
    /// A field the order type requires is missing.
    #[error("{order_type} orders require {field}")]
    MissingField {
        /// The order type.
        order_type: OrderType,
        /// The missing field.
        field: String,
    },
    /// A field the order type does not use was given.
    #[error("{order_type} orders do not take {field}")]
    UnexpectedField {
        /// The order type.
        order_type: OrderType,
        /// The extra field.
        field: String,
    },
    /// Time in force not allowed for the order type.
    #[error("time in force {time_in_force} is not allowed for {order_type} orders; allowed: {allowed}")]
    TimeInForce {
        /// The order type.
        order_type: OrderType,
        /// The time in force given.
        time_in_force: String,
        /// The allowed ones.
        allowed: String,
    },
    /// GTD expiry not after the order's event time.
    #[error("GTD expire time {expire_ms} must be after the order time {time_ms}")]
    ExpiryInPast {
        /// The expiry given.
        expire_ms: i64,
        /// The order's event time.
        time_ms: i64,
    },
    /// No such pair.
    #[error("unknown trading pair {pair}")]
    UnknownPair {
        /// The pair named.
        pair: String,
    },
    /// No open order with this id for this account.
    #[error("unknown order {order_id} (not open, or not yours)")]
    UnknownOrder {
        /// The order named.
        order_id: OrderId,
    },
    /// An amount with more than 12 decimals, not positive, or out of range.
    #[error("invalid amount {amount}: must be positive with at most 12 decimals")]
    InvalidAmount {
        /// The amount given.
        amount: Decimal,
    },
    /// A pair definition that cannot be used.
    #[error("invalid pair {symbol}: {problem}")]
    InvalidPair {
        /// The symbol given.
        symbol: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A fee schedule that cannot be used.
    #[error("invalid fee schedule: {0}")]
    InvalidFees(String),
}

impl RejectReason {
    /// The Binance filter name for a filter rejection, `None` for other reasons.
    pub fn filter(&self) -> Option<&'static str> {
        Some(match self {
            RejectReason::PriceTick { .. } | RejectReason::PriceRange { .. } => "PRICE_FILTER",
            RejectReason::QtyStep { .. } | RejectReason::MinQty { .. } | RejectReason::MaxQty { .. } => "LOT_SIZE",
            RejectReason::MinNotional { .. } => "MIN_NOTIONAL",
            RejectReason::MaxNotional { .. } => "MAX_ORDER_SIZE",
            RejectReason::IcebergParts { .. } => "ICEBERG_PARTS",
            RejectReason::TrailingDelta { .. } => "TRAILING_DELTA",
            _ => return None,
        })
    }
}
