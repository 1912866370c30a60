//! Reading exchange JSON exactly: decimals through their text (strings or numbers, never
//! `f64`), fields with clear errors, and symbols split with a venue's separator.

use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// A decimal from a JSON string or number, through its text.
pub fn dec(v: &Value) -> Result<Decimal, String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("expected a decimal, got {other}")),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| format!("bad decimal {text:?}: {e}"))
}

/// Field `key` of `obj` as a decimal.
pub fn dec_field(obj: &Value, key: &str) -> Result<Decimal, String> {
    dec(obj.get(key).ok_or_else(|| format!("missing field {key}"))?).map_err(|e| format!("{key}: {e}"))
}

/// Field `key` as a decimal, if present, non-null and non-empty.
pub fn opt_dec(obj: &Value, key: &str) -> Option<Decimal> {
    match obj.get(key)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        v => dec(v).ok(),
    }
}

/// Field `key` as a string (numbers are rendered as text).
pub fn str_field(obj: &Value, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(format!("missing field {key}")),
    }
}

/// Field `key` as an integer (string or number; a fractional part is cut off).
pub fn int_field(obj: &Value, key: &str) -> Result<i64, String> {
    let d = dec_field(obj, key)?;
    i64::try_from(d.trunc()).map_err(|_| format!("{key}: {d} out of range"))
}

/// `BTCUSDT` -> `BTC{sep}USDT`, splitting at the first of `quotes` that ends the name;
/// a name that already holds `sep` passes through (upper-cased).
pub fn venue_symbol(host: &str, sep: char, quotes: &[&str]) -> String {
    let upper = host.to_ascii_uppercase();
    if upper.contains(sep) {
        return upper;
    }
    for q in quotes {
        if let Some(base) = upper.strip_suffix(q).filter(|b| !b.is_empty()) {
            return format!("{base}{sep}{q}");
        }
    }
    upper
}
