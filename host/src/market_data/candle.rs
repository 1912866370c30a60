//! The one-minute OHLC candle.

use super::tick::SymbolId;
use rust_decimal::Decimal;

/// Milliseconds in the candle interval (one minute).
pub const MINUTE_MS: i64 = 60_000;

/// A one-minute candle with the same fields as a Binance kline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Start of the minute, ms since the Unix epoch (a multiple of 60,000).
    pub open_time_ms: i64,
    /// Last millisecond of the minute (`open_time_ms + 59_999`).
    pub close_time_ms: i64,
    /// First trade price (previous close for an empty minute).
    pub open: Decimal,
    /// Highest trade price.
    pub high: Decimal,
    /// Lowest trade price.
    pub low: Decimal,
    /// Last trade price.
    pub close: Decimal,
    /// Sum of trade quantities.
    pub volume: Decimal,
    /// Sum of price * quantity.
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trades: u64,
    /// Base volume of trades whose taker bought (`buyer_maker == false`).
    pub taker_buy_base: Decimal,
    /// Quote volume of trades whose taker bought.
    pub taker_buy_quote: Decimal,
}

impl Candle {
    /// The start of the minute containing `time_ms` (floor, also for negative times).
    pub fn minute_of(time_ms: i64) -> i64 {
        time_ms.div_euclid(MINUTE_MS) * MINUTE_MS
    }
}
