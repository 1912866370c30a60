//! Checking a new order before it touches anything: which fields its type requires,
//! which time in force it allows, and the pair's filters. The result is the order in
//! integers.
//!
//! | type | requires | may have | time in force |
//! | --- | --- | --- | --- |
//! | MARKET | `quantity` or `quote_quantity` | | ignored |
//! | LIMIT | `price`, `quantity` | | any |
//! | LIMIT_MAKER | `price`, `quantity` | | GTC, DAY, GTD |
//! | STOP_LOSS, TAKE_PROFIT | `stop_price`, `quantity` | | GTC, DAY, GTD |
//! | STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT | `stop_price`, `price`, `quantity` | | any (applies once triggered) |
//! | ICEBERG | `price`, `quantity`, `iceberg_qty` | | GTC, DAY, GTD |
//! | TRAILING_STOP | `quantity`, `trailing_delta_bps` | `activation_price` | GTC, DAY, GTD |

use super::command::NewOrder;
use super::engine::end_of_utc_day;
use super::instrument::Pair;
use super::reject::RejectReason;
use super::slab::Trail;
use super::types::{OrderType, TimeInForce};

/// A checked order, integers only.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spec {
    /// Limit price, ticks (0 = none).
    pub price: i64,
    /// Stop price, ticks (0 = none).
    pub stop: i64,
    /// Lots (0 for a market order by quote quantity).
    pub qty: i64,
    /// Iceberg slice, lots (0 = none).
    pub slice: i64,
    /// Quote budget, notional units (0 = none).
    pub budget: i128,
    pub trail: Trail,
    /// Expiry, `i64::MAX` if none.
    pub expire_ms: i64,
}

#[inline]
fn field<T: Copy>(o: &NewOrder, name: &str, v: Option<T>, wanted: bool) -> Result<Option<T>, RejectReason> {
    match (v, wanted) {
        (None, true) => Err(RejectReason::MissingField { order_type: o.order_type, field: name.into() }),
        (Some(_), false) => Err(RejectReason::UnexpectedField { order_type: o.order_type, field: name.into() }),
        _ => Ok(v),
    }
}

#[inline]
fn check_tif(o: &NewOrder) -> Result<i64, RejectReason> {
    use OrderType::*;
    let t = o.order_type;
    if t == Market {
        return Ok(i64::MAX);
    }
    let resting_only = matches!(t, LimitMaker | StopLoss | TakeProfit | Iceberg | TrailingStop);
    if resting_only && !o.time_in_force.rests() {
        return Err(RejectReason::TimeInForce {
            order_type: t,
            time_in_force: o.time_in_force.as_str().into(),
            allowed: "GTC, DAY, GTD".into(),
        });
    }
    match o.time_in_force {
        TimeInForce::Day => Ok(end_of_utc_day(o.time_ms)),
        TimeInForce::Gtd { expire_ms } if expire_ms <= o.time_ms => {
            Err(RejectReason::ExpiryInPast { expire_ms, time_ms: o.time_ms })
        }
        TimeInForce::Gtd { expire_ms } => Ok(expire_ms),
        _ => Ok(i64::MAX),
    }
}

/// Check an order against its type's rules and the pair's filters. `last` is the pair's
/// last traded price in ticks (0 = none), used for the notional of market-type orders.
pub(crate) fn check_order(pair: &Pair, o: &NewOrder, last: i64) -> Result<Spec, RejectReason> {
    use OrderType::*;
    let t = o.order_type;
    let stop_type = matches!(t, StopLoss | StopLossLimit | TakeProfit | TakeProfitLimit);
    let price = field(o, "price", o.price, t.has_limit_price())?;
    let stop = field(o, "stop_price", o.stop_price, stop_type)?;
    let iceberg = field(o, "iceberg_qty", o.iceberg_qty, t == Iceberg)?;
    let delta = field(o, "trailing_delta_bps", o.trailing_delta_bps, t == TrailingStop)?;
    let activation =
        if t == TrailingStop { o.activation_price } else { field(o, "activation_price", o.activation_price, false)? };
    let quote = if t == Market { o.quote_quantity } else { field(o, "quote_quantity", o.quote_quantity, false)? };
    let qty = match (o.quantity, quote) {
        (Some(_), Some(_)) => {
            return Err(RejectReason::UnexpectedField {
                order_type: t,
                field: "quote_quantity (with quantity)".into(),
            });
        }
        (None, None) => return Err(RejectReason::MissingField { order_type: t, field: "quantity".into() }),
        (q, _) => q,
    };
    let expire_ms = check_tif(o)?;
    let mut spec = Spec { expire_ms, ..Spec::default() };
    if let Some(p) = price {
        spec.price = pair.ticks("price", p)?;
    }
    if let Some(s) = stop {
        spec.stop = pair.ticks("stop_price", s)?;
    }
    if let Some(a) = activation {
        spec.trail.activation = pair.ticks("activation_price", a)?;
    }
    if let Some(q) = qty {
        spec.qty = pair.lots("quantity", q)?;
        pair.check_lots(spec.qty)?;
    }
    if let Some(v) = iceberg {
        check_iceberg(pair, &mut spec, v)?;
    }
    if let Some(d) = delta {
        if d < pair.min_trail_bps || d > pair.max_trail_bps {
            let (min_bps, max_bps) = (pair.min_trail_bps, pair.max_trail_bps);
            return Err(RejectReason::TrailingDelta { delta_bps: d, min_bps, max_bps });
        }
        spec.trail.delta_bps = d;
    }
    if let Some(q) = quote {
        spec.budget = pair.quote_notional(q)?;
        pair.check_notional(spec.budget)?;
    }
    // The notional is judged at the limit price, else the stop, else the last trade
    // (or activation) price; a market order with no price known yet skips the check.
    let reference = [spec.price, spec.stop, last, spec.trail.activation].into_iter().find(|&p| p > 0);
    if let Some(reference) = reference.filter(|_| spec.qty > 0) {
        pair.check_notional(pair.notional(reference, spec.qty))?;
    }
    Ok(spec)
}

fn check_iceberg(pair: &Pair, spec: &mut Spec, visible: rust_decimal::Decimal) -> Result<(), RejectReason> {
    let slice = pair.lots("iceberg_qty", visible)?;
    let parts = (spec.qty as u64).div_ceil(slice as u64);
    if slice >= spec.qty || parts > u64::from(pair.max_iceberg_parts) {
        return Err(RejectReason::IcebergParts {
            iceberg_qty: visible,
            qty: pair.qty(spec.qty),
            parts,
            max_parts: pair.max_iceberg_parts,
        });
    }
    spec.slice = slice;
    Ok(())
}
