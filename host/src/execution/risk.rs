//! Risk checks applied to every order before a venue sees it.

use super::Account;
use super::order::{Order, OrderKind, Side};
use crate::config::RiskConfig;
use rust_decimal::Decimal;

/// Most decimal places accepted in a quantity or price.
const MAX_SCALE: u32 = 8;

/// Check an order against the instance's limits; the error is the rejection reason.
pub fn check(
    order: &Order,
    risk: &RiskConfig,
    account: Option<&Account>,
    last_price: Option<Decimal>,
) -> Result<(), String> {
    if order.qty <= Decimal::ZERO {
        return Err(format!("quantity must be positive, got {}", order.qty));
    }
    if order.qty.normalize().scale() > MAX_SCALE {
        return Err(format!("quantity {} has more than {MAX_SCALE} decimal places", order.qty));
    }
    if let Some(p) = order.kind.price() {
        if p <= Decimal::ZERO {
            return Err(format!("{} price must be positive, got {p}", order.kind.as_str()));
        }
        if p.normalize().scale() > MAX_SCALE {
            return Err(format!("price {p} has more than {MAX_SCALE} decimal places"));
        }
    }
    let price = match order.kind {
        OrderKind::Market => last_price.ok_or("no market price yet for this symbol")?,
        OrderKind::Limit(p) | OrderKind::StopMarket(p) => p,
    };
    let notional = order.qty * price;
    if notional > risk.max_order_notional {
        return Err(format!(
            "order notional {} exceeds max_order_notional {}",
            notional.round_dp(8).normalize(),
            risk.max_order_notional
        ));
    }
    let held = account.and_then(|a| a.positions.get(&order.symbol)).map(|p| p.qty).unwrap_or_default();
    let after = match order.side {
        Side::Buy => held + order.qty,
        Side::Sell => held - order.qty,
    };
    if after.abs() * price > risk.max_position_notional {
        return Err(format!(
            "position notional after this order {} exceeds max_position_notional {}",
            (after.abs() * price).round_dp(8).normalize(),
            risk.max_position_notional
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::OrderStatus;
    use crate::market_data::SymbolId;

    fn order(side: Side, kind: OrderKind, qty: &str) -> Order {
        Order {
            id: 1,
            instance: "a".into(),
            symbol: SymbolId(0),
            side,
            kind,
            qty: qty.parse().unwrap(),
            filled: Decimal::ZERO,
            status: OrderStatus::New,
            reason: None,
            tag: String::new(),
            time_ms: 0,
        }
    }

    #[test]
    fn table_of_rejections() {
        let risk = RiskConfig::notional(Decimal::from(1000), Decimal::from(1500));
        let last = Some(Decimal::from(100));
        let cases = [
            (order(Side::Buy, OrderKind::Market, "0"), Some("quantity must be positive, got 0")),
            (
                order(Side::Buy, OrderKind::Market, "0.000000001"),
                Some("quantity 0.000000001 has more than 8 decimal places"),
            ),
            (order(Side::Buy, OrderKind::Market, "11"), Some("order notional 1100 exceeds max_order_notional 1000")),
            (order(Side::Buy, OrderKind::Limit(Decimal::ZERO), "1"), Some("LIMIT price must be positive, got 0")),
            (order(Side::Buy, OrderKind::Market, "10"), None),
            (order(Side::Buy, OrderKind::Limit(Decimal::from(50)), "20"), None),
        ];
        for (o, want) in cases {
            assert_eq!(check(&o, &risk, None, last).err().as_deref(), want, "{o:?}");
        }
        let no_price = check(&order(Side::Buy, OrderKind::Market, "1"), &risk, None, None).unwrap_err();
        assert_eq!(no_price, "no market price yet for this symbol");
        let mut acc = Account::default();
        acc.positions.insert(SymbolId(0), crate::execution::Position { qty: Decimal::from(10), ..Default::default() });
        let err = check(&order(Side::Buy, OrderKind::Market, "6"), &risk, Some(&acc), last).unwrap_err();
        assert_eq!(err, "position notional after this order 1600 exceeds max_position_notional 1500");
    }
}
