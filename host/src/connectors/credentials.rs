//! API keys. They come from the environment / `.env` under the names the product texts
//! use (`BINANCE_API_KEY` + `BINANCE_SECRET_KEY` or `BINANCE_API_SECRET`, `GATEIO_...`,
//! `KUCOIN_...` + `KUCOIN_PASSPHRASE`, `BYBIT_...`) or from the encrypted vault. A
//! [`Secret`] never prints: `Debug` and `Display` show `***`, and it is not `Serialize`.

use super::ExchangeId;
use std::fmt;

/// A secret string that never shows itself in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for signing. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Keys of one exchange account.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key (sent in headers; still redacted in `Debug`).
    pub api_key: Secret,
    /// The signing secret.
    pub secret: Secret,
    /// KuCoin's passphrase (sent HMAC-signed with key version 2).
    pub passphrase: Option<Secret>,
}

impl Credentials {
    /// Keys from plain strings.
    pub fn new(api_key: impl Into<String>, secret: impl Into<String>, passphrase: Option<String>) -> Credentials {
        Credentials {
            api_key: Secret::new(api_key),
            secret: Secret::new(secret),
            passphrase: passphrase.map(Secret::new),
        }
    }

    /// Keys of `exchange` from variables looked up by `var` (the process environment in
    /// the host, a map in tests). Empty values count as missing. `None` if the key or
    /// the secret is missing.
    pub fn from_vars(exchange: ExchangeId, var: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
        let p = exchange.env_prefix();
        let get = |name: &str| var(&format!("{p}_{name}")).filter(|v| !v.trim().is_empty());
        let key = get("API_KEY")?;
        let secret = get("SECRET_KEY").or_else(|| get("API_SECRET"))?;
        Some(Credentials::new(key.trim(), secret.trim(), get("PASSPHRASE").map(|s| s.trim().to_string())))
    }

    /// Keys of `exchange` from the process environment.
    pub fn from_env(exchange: ExchangeId) -> Option<Credentials> {
        Credentials::from_vars(exchange, |name| std::env::var(name).ok())
    }

    /// The key with all but its first four characters masked, for display.
    pub fn masked_key(&self) -> String {
        let head: String = self.api_key.expose().chars().take(4).collect();
        format!("{head}***")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.masked_key())
            .field("secret", &self.secret)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_the_seed_names_and_never_prints_secrets() {
        let vars: HashMap<&str, &str> = [
            ("BINANCE_API_KEY", "key-abcdef"),
            ("BINANCE_API_SECRET", "s3cr3t-value"),
            ("KUCOIN_API_KEY", "k"),
            ("KUCOIN_SECRET_KEY", "kucoin-secret"),
            ("KUCOIN_PASSPHRASE", "pass-phrase"),
            ("GATEIO_API_KEY", "only-a-key"),
            ("BYBIT_API_KEY", ""),
            ("BYBIT_SECRET_KEY", "x"),
        ]
        .into();
        let var = |n: &str| vars.get(n).map(|s| s.to_string());
        let binance = Credentials::from_vars(ExchangeId::Binance, var).expect("binance keys");
        assert_eq!(binance.secret.expose(), "s3cr3t-value");
        let kucoin = Credentials::from_vars(ExchangeId::Kucoin, var).expect("kucoin keys");
        assert_eq!(kucoin.passphrase.as_ref().map(Secret::expose), Some("pass-phrase"));
        assert!(Credentials::from_vars(ExchangeId::Gateio, var).is_none(), "a key without a secret is no keys");
        assert!(Credentials::from_vars(ExchangeId::Bybit, var).is_none(), "an empty key is no key");
        for creds in [&binance, &kucoin] {
            let shown = format!("{creds:?} {} {:?}", creds.secret, creds.secret);
            for secret in ["s3cr3t-value", "kucoin-secret", "pass-phrase", "key-abcdef"] {
                assert!(!shown.contains(secret), "{shown} shows {secret}");
            }
        }
        assert_eq!(binance.masked_key(), "key-***");
    }
}
