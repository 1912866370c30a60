//! Price alerts: `price_above`, `price_below` and `percent_change` on an asset's price.
//! Each alert triggers once, on event time, and is then inactive.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Kinds of alert (the seed's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    /// The price rises to or above `target_price`.
    PriceAbove,
    /// The price falls to or below `target_price`.
    PriceBelow,
    /// The price moves by at least `target_percentage` % (either way) from the price
    /// when the alert was created.
    PercentChange,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct Alert {
    /// `alert_<n>`.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `crypto_<asset>`, e.g. `crypto_btc`.
    pub cryptocurrency_id: String,
    /// Kind.
    pub alert_type: AlertType,
    /// For price_above / price_below.
    #[schema(value_type = Option<String>)]
    pub target_price: Option<Decimal>,
    /// For percent_change, in percent.
    #[schema(value_type = Option<String>)]
    pub target_percentage: Option<Decimal>,
    /// Price when created (reference of percent_change).
    #[schema(value_type = Option<String>)]
    pub base_price: Option<Decimal>,
    /// False once triggered.
    pub is_active: bool,
    /// Event time of creation, ms.
    pub created_at: i64,
    /// Event time it triggered, ms.
    pub triggered_at: Option<i64>,
    /// Price that triggered it.
    #[schema(value_type = Option<String>)]
    pub triggered_price: Option<Decimal>,
}

/// Body of `POST /api/price-alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    /// Owner.
    pub user_id: String,
    /// `crypto_btc`, `BTC` or `btc`.
    pub cryptocurrency_id: String,
    /// Kind.
    pub alert_type: AlertType,
    /// Required for price_above / price_below.
    #[schema(value_type = Option<String>)]
    pub target_price: Option<Decimal>,
    /// Required for percent_change (percent, e.g. 5 = 5 %).
    #[schema(value_type = Option<String>)]
    pub target_percentage: Option<Decimal>,
}

/// The asset code of a `cryptocurrency_id` (`crypto_btc` -> `BTC`).
pub fn asset_of(cryptocurrency_id: &str) -> Option<String> {
    let raw = cryptocurrency_id.strip_prefix("crypto_").unwrap_or(cryptocurrency_id).to_ascii_uppercase();
    (!raw.is_empty() && raw.len() <= 12 && raw.chars().all(|c| c.is_ascii_alphanumeric())).then_some(raw)
}

/// All alerts.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct Alerts {
    list: Vec<Alert>,
    next_id: u64,
}

impl Alerts {
    /// Validate and add an alert; `price` is the asset's current price, if known.
    pub fn add(&mut self, req: NewAlert, price: Option<Decimal>, now_ms: i64) -> Result<Alert, String> {
        let asset = asset_of(&req.cryptocurrency_id)
            .ok_or_else(|| format!("`{}` is not a cryptocurrency id like crypto_btc", req.cryptocurrency_id))?;
        if req.user_id.trim().is_empty() {
            return Err("user_id must not be empty".into());
        }
        match req.alert_type {
            AlertType::PriceAbove | AlertType::PriceBelow => match req.target_price {
                Some(p) if p > Decimal::ZERO => {}
                _ => return Err("target_price must be a positive number for price_above and price_below".into()),
            },
            AlertType::PercentChange => {
                match req.target_percentage {
                    Some(p) if p > Decimal::ZERO => {}
                    _ => return Err("target_percentage must be a positive number for percent_change".into()),
                }
                if price.is_none() {
                    return Err(format!("no price for {asset} yet: percent_change needs a reference price"));
                }
            }
        }
        self.next_id += 1;
        let alert = Alert {
            id: format!("alert_{}", self.next_id),
            user_id: req.user_id,
            cryptocurrency_id: format!("crypto_{}", asset.to_ascii_lowercase()),
            alert_type: req.alert_type,
            target_price: req.target_price,
            target_percentage: req.target_percentage,
            base_price: price,
            is_active: true,
            created_at: now_ms,
            triggered_at: None,
            triggered_price: None,
        };
        self.list.push(alert.clone());
        Ok(alert)
    }

    /// A new price for an asset: returns the alerts it triggered (now inactive).
    pub fn on_price(&mut self, asset: &str, price: Decimal, now_ms: i64) -> Vec<Alert> {
        let id = format!("crypto_{}", asset.to_ascii_lowercase());
        let mut fired = Vec::new();
        for a in self.list.iter_mut().filter(|a| a.is_active && a.cryptocurrency_id == id) {
            let hit = match a.alert_type {
                AlertType::PriceAbove => a.target_price.is_some_and(|t| price >= t),
                AlertType::PriceBelow => a.target_price.is_some_and(|t| price <= t),
                AlertType::PercentChange => match (a.base_price, a.target_percentage) {
                    (Some(base), Some(pct)) if !base.is_zero() => {
                        ((price - base) / base * Decimal::ONE_HUNDRED).abs() >= pct
                    }
                    _ => false,
                },
            };
            if hit {
                a.is_active = false;
                a.triggered_at = Some(now_ms);
                a.triggered_price = Some(price);
                fired.push(a.clone());
            }
        }
        fired
    }

    /// Alerts of a user (all users when `None`), optionally only active ones.
    pub fn list(&self, user: Option<&str>, active_only: bool) -> Vec<Alert> {
        self.list
            .iter()
            .filter(|a| user.is_none_or(|u| a.user_id == u) && (!active_only || a.is_active))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn req(kind: AlertType, price: Option<&str>, pct: Option<&str>) -> NewAlert {
        NewAlert {
            user_id: "u".into(),
            cryptocurrency_id: "crypto_btc".into(),
            alert_type: kind,
            target_price: price.map(d),
            target_percentage: pct.map(d),
        }
    }

    #[test]
    fn each_kind_triggers_once_at_its_threshold() {
        let mut a = Alerts::default();
        a.add(req(AlertType::PriceAbove, Some("50000"), None), Some(d("45000")), 0).unwrap();
        a.add(req(AlertType::PriceBelow, Some("44000"), None), Some(d("45000")), 0).unwrap();
        a.add(req(AlertType::PercentChange, None, Some("5")), Some(d("45000")), 0).unwrap();
        let ids = |v: Vec<Alert>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
        assert!(a.on_price("BTC", d("46000"), 1).is_empty(), "+2.2 %: below every threshold");
        assert!(a.on_price("ETH", d("99999"), 1).is_empty(), "other assets do not trigger");
        assert_eq!(ids(a.on_price("BTC", d("50000"), 2)), ["alert_1", "alert_3"], "above at 50000; +11 % >= 5 %");
        assert!(a.on_price("BTC", d("50100"), 3).is_empty(), "triggered once");
        assert_eq!(ids(a.on_price("BTC", d("43000"), 4)), ["alert_2"]);
        let all = a.list(Some("u"), false);
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].triggered_at, all[0].triggered_price), (Some(2), Some(d("50000"))));
        assert!(a.list(None, true).is_empty());
    }

    #[test]
    fn percent_change_counts_falls_too() {
        let mut a = Alerts::default();
        a.add(req(AlertType::PercentChange, None, Some("2")), Some(d("100")), 0).unwrap();
        assert!(a.on_price("BTC", d("98.01"), 1).is_empty());
        assert_eq!(a.on_price("BTC", d("98"), 2).len(), 1);
    }

    #[test]
    fn bad_requests_are_named() {
        let mut a = Alerts::default();
        let cases = [
            (req(AlertType::PriceAbove, None, None), Some("45000"), "target_price must be a positive number"),
            (req(AlertType::PriceBelow, Some("-1"), None), Some("45000"), "target_price must be a positive number"),
            (req(AlertType::PercentChange, None, None), Some("45000"), "target_percentage must be a positive number"),
            (req(AlertType::PercentChange, None, Some("5")), None, "no price for BTC yet"),
        ];
        for (r, price, want) in cases {
            let err = a.add(r, price.map(d), 0).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        let mut bad = req(AlertType::PriceAbove, Some("1"), None);
        bad.cryptocurrency_id = "crypto_".into();
        assert!(a.add(bad, None, 0).unwrap_err().contains("is not a cryptocurrency id"));
    }
}
