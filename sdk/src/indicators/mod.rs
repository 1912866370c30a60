//! Streaming indicators: one value in, `Option<f64>` out (`None` exactly where TA-Lib's
//! output is NaN, i.e. during its lookback), O(1) per update (amortised for the windowed
//! ones). They compute in `f64`: signals, not money. Feed them [`to_f64`] of a candle's
//! `Decimal` fields.
//!
//! | indicator | TA-Lib | warm-up (updates without output) |
//! | --- | --- | --- |
//! | [`Sma`] | `SMA` | `period - 1` |
//! | [`Ema`] | `EMA` (seeded with the SMA of the first `period` values) | `period - 1` |
//! | [`Rsi`] | `RSI` (Wilder) | `period` |
//! | [`Bollinger`] | `BBANDS` with an SMA middle band, population std dev | `period - 1` |
//! | [`RollingStd`] | `STDDEV` with `nbdev = 1` (population) | `period - 1` |
//! | [`Atr`] | `ATR` (Wilder, seeded with the SMA of the first `period` true ranges) | `period` |
//! | [`Rocp`] | `ROCP` (rate of change as a fraction) | `period` |
//! | [`ZScore`] | none: `(x - mean) / std_dev` over the window | `period - 1` |
//!
//! `tests/talib.rs` checks each one that has a TA-Lib counterpart against TA-Lib's output
//! on real BTCUSDT candles (`tests/talib/reference.json` at the workspace root) to 1e-9
//! relative, warm-up included. [`ZScore`] shares [`RollingStd`]'s window.
//!
//! Every indicator has `save`/`load` to carry its exact state through a strategy's
//! `snapshot`/`restore` with [`crate::state`].

mod atr;
mod bollinger;
mod ema;
mod rocp;
mod rsi;
mod sma;
mod stddev;
mod window;
mod zscore;

pub use atr::Atr;
pub use bollinger::{Bands, Bollinger};
pub use ema::Ema;
pub use rocp::Rocp;
pub use rsi::Rsi;
pub use sma::Sma;
pub use stddev::RollingStd;
pub use zscore::ZScore;

use crate::Decimal;

/// The `f64` nearest to a `Decimal` (correctly rounded, so `to_f64("23142.31")` is the
/// same number a CSV parser or Python's `float()` gives; `Decimal`'s own `to_f64` may be
/// one unit in the last place off). NaN never results.
pub fn to_f64(d: Decimal) -> f64 {
    let (m, scale) = (d.mantissa(), d.scale());
    // Both operands exact in f64, so the one division is correctly rounded.
    const EXACT: i128 = 1 << 53;
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    if let Some(&p) = POW10.get(scale as usize)
        && (-EXACT..=EXACT).contains(&m)
    {
        // Within ±2^53 the mantissa fits an i64, whose conversion is one wasm instruction
        // (an i128's is a library call); both are exact here.
        return (m as i64) as f64 / p;
    }
    d.to_string().parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_f64_is_correctly_rounded() {
        let cases = ["23142.31", "0.1", "-7.25", "60157.98", "0.00000001", "79228162514264337593543950335", "0"];
        for text in cases {
            let d: Decimal = text.parse().unwrap();
            assert_eq!(to_f64(d), text.parse::<f64>().unwrap(), "{text}");
        }
        assert_eq!(to_f64(Decimal::new(2314231, 2)), 23142.31);
    }
}
