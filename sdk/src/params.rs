//! Typed access to an instance's parameters (the `[strategy.params]` table).

use std::fmt;
use std::str::FromStr;

/// Why a parameter could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// A required key is absent.
    Missing {
        /// The key asked for.
        key: String,
    },
    /// The value does not parse as the expected type, or is out of range.
    Invalid {
        /// The key asked for.
        key: String,
        /// The text found.
        value: String,
        /// What was expected, e.g. "a positive integer".
        expected: String,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing { key } => write!(f, "missing parameter `{key}`"),
            ParamError::Invalid { key, value, expected } => {
                write!(f, "parameter `{key}` = `{value}`: expected {expected}")
            }
        }
    }
}

impl std::error::Error for ParamError {}

impl From<ParamError> for String {
    fn from(e: ParamError) -> String {
        e.to_string()
    }
}

/// Key/value parameters as the host passed them (values rendered as text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(String, String)>,
}

impl Params {
    /// Parameters from key/value pairs.
    pub fn new<K: Into<String>, V: Into<String>>(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        Params { entries: entries.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The raw text of a key.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// All keys and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A key parsed as `T`, or `None` when absent.
    pub fn get<T: FromStr>(&self, key: &str) -> Result<Option<T>, ParamError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| ParamError::Invalid {
                key: key.into(),
                value: v.into(),
                expected: std::any::type_name::<T>().rsplit("::").next().unwrap_or("value").into(),
            }),
        }
    }

    /// A key parsed as `T`, or `default` when absent.
    pub fn get_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ParamError> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// A per-symbol key: `key.<symbol>` (`qty.BTCUSDT`, or `qty."bybit:BTCUSDT"` for a
    /// venue's market), then `key.<pair>` for a venue's market (`qty.BTCUSDT` also sizes
    /// `bybit:BTCUSDT`), then plain `key` for every symbol; `None` when none is set.
    pub fn for_symbol<T: FromStr>(&self, key: &str, symbol: &str) -> Result<Option<T>, ParamError> {
        if let Some(v) = self.get(&format!("{key}.{symbol}"))? {
            return Ok(Some(v));
        }
        if let Some((_, pair)) = symbol.split_once(':')
            && let Some(v) = self.get(&format!("{key}.{pair}"))?
        {
            return Ok(Some(v));
        }
        self.get(key)
    }

    /// [`Params::for_symbol`] that must be set; the error names `key.<symbol>`.
    pub fn require_for_symbol<T: FromStr>(&self, key: &str, symbol: &str) -> Result<T, ParamError> {
        self.for_symbol(key, symbol)?.ok_or_else(|| ParamError::Missing { key: format!("{key}.{symbol}") })
    }

    /// A key that must be present.
    pub fn require<T: FromStr>(&self, key: &str) -> Result<T, ParamError> {
        self.get(key)?.ok_or_else(|| ParamError::Missing { key: key.into() })
    }

    /// Check a parsed value against a rule, naming the rule in the error.
    pub fn check<T: fmt::Display>(
        key: &str,
        value: T,
        ok: impl FnOnce(&T) -> bool,
        expected: &str,
    ) -> Result<T, ParamError> {
        if ok(&value) {
            Ok(value)
        } else {
            Err(ParamError::Invalid { key: key.into(), value: value.to_string(), expected: expected.into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn typed_reads_and_errors() {
        let p = Params::new([("period", "10"), ("sl", "0.15"), ("bad", "ten")]);
        assert_eq!(p.get::<u32>("period"), Ok(Some(10)));
        assert_eq!(p.get::<Decimal>("sl"), Ok(Some(Decimal::new(15, 2))));
        assert_eq!(p.get_or::<u32>("absent", 7), Ok(7));
        assert_eq!(p.require::<u32>("absent"), Err(ParamError::Missing { key: "absent".into() }));
        let err = p.get::<u32>("bad").unwrap_err();
        assert_eq!(err.to_string(), "parameter `bad` = `ten`: expected u32");
        let err = Params::check("period", 0u32, |v| *v > 0, "a positive integer").unwrap_err();
        assert_eq!(err.to_string(), "parameter `period` = `0`: expected a positive integer");
    }

    #[test]
    fn per_symbol_keys_fall_back_from_the_market_to_its_pair_to_the_plain_key() {
        let p = Params::new([("qty.BTCUSDT", "1"), ("qty.bybit:BTCUSDT", "2"), ("qty", "3"), ("size.BTCUSDT", "x")]);
        assert_eq!(p.for_symbol::<u32>("qty", "bybit:BTCUSDT"), Ok(Some(2)));
        assert_eq!(p.for_symbol::<u32>("qty", "binance:BTCUSDT"), Ok(Some(1)), "the pair's value");
        assert_eq!(p.for_symbol::<u32>("qty", "BTCUSDT"), Ok(Some(1)));
        assert_eq!(p.for_symbol::<u32>("qty", "ETHUSDT"), Ok(Some(3)), "the plain key");
        assert_eq!(p.for_symbol::<u32>("other", "ETHUSDT"), Ok(None));
        assert!(p.for_symbol::<u32>("size", "gateio:BTCUSDT").is_err(), "a bad value is an error, not absent");
        let missing = p.require_for_symbol::<u32>("other", "bybit:ETHUSDT").unwrap_err();
        assert_eq!(missing, ParamError::Missing { key: "other.bybit:ETHUSDT".into() });
    }
}
