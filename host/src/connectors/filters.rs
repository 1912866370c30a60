//! Exchange filters applied before an order leaves the host: the price rounded to the
//! tick (down for buys, up for sells, so rounding never makes a limit more aggressive),
//! the quantity rounded down to the lot, then min/max quantity and min notional checked.
//! A rejection names the filter and the allowed value, and nothing is sent.

use super::{ConnectorError, ConnectorResult, OrderRequest, OrderType, SymbolRules};
use crate::execution::Side;
use rust_decimal::{Decimal, RoundingStrategy};

/// Round `value` to a multiple of `step` in the given direction (`step` zero: unchanged).
pub fn round_to_step(value: Decimal, step: Decimal, strategy: RoundingStrategy) -> Decimal {
    if step.is_zero() {
        return value;
    }
    ((value / step).round_dp_with_strategy(0, strategy) * step).normalize()
}

/// Round `order` to `rules` and check it. `reference_price` (last trade) prices a market
/// order for the min-notional check.
pub fn apply(rules: &SymbolRules, order: &mut OrderRequest, reference_price: Option<Decimal>) -> ConnectorResult<()> {
    let reject =
        |filter: &'static str, reason: String| ConnectorError::Filter { symbol: rules.symbol.clone(), filter, reason };
    if !rules.trading {
        return Err(reject("STATUS", "trading is halted in this symbol".into()));
    }
    if let Some(price) = order.price {
        let strategy = match order.side {
            Side::Buy => RoundingStrategy::ToZero,
            Side::Sell => RoundingStrategy::AwayFromZero,
        };
        let rounded = round_to_step(price, rules.tick_size, strategy);
        if rounded <= Decimal::ZERO {
            return Err(reject(
                "PRICE_FILTER",
                format!("price {price} rounds to {rounded}; tick size {}", rules.tick_size),
            ));
        }
        order.price = Some(rounded);
    } else if order.order_type != OrderType::Market {
        return Err(reject("PRICE_FILTER", "a limit order needs a price".into()));
    }
    let qty = round_to_step(order.quantity, rules.lot_size, RoundingStrategy::ToZero);
    if qty < rules.min_qty || qty.is_zero() {
        return Err(reject(
            "LOT_SIZE",
            format!(
                "quantity {} (rounded to lot {}: {qty}) is below the minimum {}",
                order.quantity, rules.lot_size, rules.min_qty
            ),
        ));
    }
    if let Some(max) = rules.max_qty.filter(|m| qty > *m) {
        return Err(reject("LOT_SIZE", format!("quantity {qty} is above the maximum {max}")));
    }
    order.quantity = qty;
    if let Some(price) = order.price.or(reference_price) {
        let notional = price * qty;
        if notional < rules.min_notional {
            return Err(reject(
                "MIN_NOTIONAL",
                format!("notional {notional} is below the minimum {}", rules.min_notional),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::TimeInForce;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    fn rules() -> SymbolRules {
        SymbolRules {
            symbol: "BTCUSDT".into(),
            venue_symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            quote: "USDT".into(),
            tick_size: d("0.01"),
            lot_size: d("0.00001"),
            min_qty: d("0.00001"),
            max_qty: Some(d("9000")),
            min_notional: d("5"),
            trading: true,
        }
    }

    fn order(side: Side, qty: &str, price: Option<&str>) -> OrderRequest {
        OrderRequest {
            symbol: "BTCUSDT".into(),
            side,
            order_type: if price.is_some() { OrderType::Limit } else { OrderType::Market },
            quantity: d(qty),
            price: price.map(d),
            time_in_force: TimeInForce::Gtc,
            client_order_id: "t1".into(),
            reduce_only: false,
        }
    }

    #[test]
    fn rounds_to_the_passive_side_and_down_to_the_lot() {
        let mut buy = order(Side::Buy, "0.123456789", Some("61234.567"));
        apply(&rules(), &mut buy, None).unwrap();
        assert_eq!((buy.price, buy.quantity), (Some(d("61234.56")), d("0.12345")));
        let mut sell = order(Side::Sell, "0.1", Some("61234.561"));
        apply(&rules(), &mut sell, None).unwrap();
        assert_eq!(sell.price, Some(d("61234.57")));
    }

    #[test]
    fn rejections_name_the_filter_and_the_allowed_value() {
        let err = apply(&rules(), &mut order(Side::Buy, "0.000001", Some("60000")), None).unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Filter { filter: "LOT_SIZE", reason, .. } if reason.contains("0.00001")),
            "{err}"
        );
        let err = apply(&rules(), &mut order(Side::Buy, "0.00005", Some("60000")), None).unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Filter { filter: "MIN_NOTIONAL", reason, .. } if reason.contains("minimum 5")),
            "{err}"
        );
        let err = apply(&rules(), &mut order(Side::Sell, "0.00005", None), Some(d("60000"))).unwrap_err();
        assert!(
            matches!(err, ConnectorError::Filter { filter: "MIN_NOTIONAL", .. }),
            "market orders are priced at the reference"
        );
        let err = apply(&rules(), &mut order(Side::Sell, "10000", None), None).unwrap_err();
        assert!(matches!(err, ConnectorError::Filter { filter: "LOT_SIZE", .. }));
        let mut halted = rules();
        halted.trading = false;
        assert!(matches!(
            apply(&halted, &mut order(Side::Buy, "1", None), None),
            Err(ConnectorError::Filter { filter: "STATUS", .. })
        ));
    }
}
