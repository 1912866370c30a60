//! Creating connectors by name. The four built-in venues are registered at start; more
//! can be added at run time with [`ConnectorRegistry::register`].

use super::{Connector, ConnectorError, ConnectorResult, Credentials, ExchangeId, Market};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// How to reach one exchange account.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The venue.
    pub exchange: ExchangeId,
    /// Testnet endpoints (the default) or production.
    pub testnet: bool,
    /// Spot or USDT futures.
    pub market: Market,
    /// Override of the REST base URL (a proxy, or a local fake exchange in tests).
    pub rest_url: Option<String>,
    /// Override of the public WebSocket base URL (scheme and host; the venue adds its paths).
    pub ws_url: Option<String>,
    /// Override of the private WebSocket base URL.
    pub ws_private_url: Option<String>,
    /// Keys; public calls work without them.
    pub credentials: Option<Credentials>,
    /// How long a signed request stays valid (Binance `recvWindow`, Bybit `X-BAPI-RECV-WINDOW`), ms.
    pub recv_window_ms: u64,
}

impl ConnectorSettings {
    /// Testnet, spot, no keys, the venue's own endpoints.
    pub fn new(exchange: ExchangeId) -> ConnectorSettings {
        ConnectorSettings {
            exchange,
            testnet: true,
            market: Market::Spot,
            rest_url: None,
            ws_url: None,
            ws_private_url: None,
            credentials: None,
            recv_window_ms: 5_000,
        }
    }

    /// Settings from variables named after the exchange (`BINANCE_TESTNET`,
    /// `BINANCE_MARKET`, `BINANCE_REST_URL`, `BINANCE_WS_URL`, `BINANCE_WS_PRIVATE_URL`,
    /// `BINANCE_RECV_WINDOW`, and the keys). Testnet stays on unless the variable says
    /// `false`/`0`/`no`.
    pub fn from_vars(exchange: ExchangeId, var: impl Fn(&str) -> Option<String>) -> Result<ConnectorSettings, String> {
        let p = exchange.env_prefix();
        let get = |name: &str| var(&format!("{p}_{name}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut s = ConnectorSettings::new(exchange);
        if let Some(t) = get("TESTNET") {
            s.testnet = match t.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => return Err(format!("{p}_TESTNET: expected true or false, got {other:?}")),
            };
        }
        if let Some(m) = get("MARKET") {
            s.market = match m.to_ascii_lowercase().as_str() {
                "spot" => Market::Spot,
                "futures" | "linear" | "usdt" => Market::Futures,
                other => return Err(format!("{p}_MARKET: expected spot or futures, got {other:?}")),
            };
        }
        s.rest_url = get("REST_URL");
        s.ws_url = get("WS_URL");
        s.ws_private_url = get("WS_PRIVATE_URL").or_else(|| s.ws_url.clone());
        if let Some(w) = get("RECV_WINDOW") {
            s.recv_window_ms = w.parse().map_err(|_| format!("{p}_RECV_WINDOW: expected milliseconds, got {w:?}"))?;
        }
        s.credentials = Credentials::from_vars(exchange, &var);
        Ok(s)
    }

    /// Settings from the process environment (after `.env` was loaded).
    pub fn from_env(exchange: ExchangeId) -> Result<ConnectorSettings, String> {
        ConnectorSettings::from_vars(exchange, |n| std::env::var(n).ok())
    }
}

/// Builds a connector from settings.
pub type Factory = Arc<dyn Fn(ConnectorSettings) -> ConnectorResult<Arc<dyn Connector>> + Send + Sync>;

/// Connector factories by name.
#[derive(Clone)]
pub struct ConnectorRegistry {
    factories: Arc<RwLock<BTreeMap<String, Factory>>>,
}

impl Default for ConnectorRegistry {
    fn default() -> ConnectorRegistry {
        ConnectorRegistry::with_builtin()
    }
}

impl ConnectorRegistry {
    /// An empty registry.
    pub fn empty() -> ConnectorRegistry {
        ConnectorRegistry { factories: Arc::new(RwLock::new(BTreeMap::new())) }
    }

    /// Binance, Gate.io, KuCoin and Bybit.
    pub fn with_builtin() -> ConnectorRegistry {
        let r = ConnectorRegistry::empty();
        r.register(
            "binance",
            Arc::new(|s| Ok(Arc::new(super::binance::BinanceConnector::new(s)?) as Arc<dyn Connector>)),
        );
        r.register("gateio", Arc::new(|s| Ok(Arc::new(super::gateio::GateioConnector::new(s)?) as Arc<dyn Connector>)));
        r.register("kucoin", Arc::new(|s| Ok(Arc::new(super::kucoin::KucoinConnector::new(s)?) as Arc<dyn Connector>)));
        r.register("bybit", Arc::new(|s| Ok(Arc::new(super::bybit::BybitConnector::new(s)?) as Arc<dyn Connector>)));
        r
    }

    /// Add (or replace) a factory.
    pub fn register(&self, name: &str, factory: Factory) {
        self.factories
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_ascii_lowercase(), factory);
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.factories.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys().cloned().collect()
    }

    /// Create a connector by name.
    pub fn create(&self, name: &str, settings: ConnectorSettings) -> ConnectorResult<Arc<dyn Connector>> {
        let factory = self
            .factories
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| ConnectorError::Rejected {
                exchange: settings.exchange,
                code: "UNKNOWN_CONNECTOR".into(),
                message: format!("no connector named {name:?}; known: {}", self.names().join(", ")),
            })?;
        factory(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn settings_default_to_testnet_and_read_overrides() {
        let vars: HashMap<&str, &str> =
            [("BYBIT_REST_URL", "http://127.0.0.1:9"), ("BYBIT_MARKET", "futures"), ("GATEIO_TESTNET", "false")].into();
        let var = |n: &str| vars.get(n).map(|s| s.to_string());
        let bybit = ConnectorSettings::from_vars(ExchangeId::Bybit, var).unwrap();
        assert!(bybit.testnet);
        assert_eq!(bybit.market, Market::Futures);
        assert_eq!(bybit.rest_url.as_deref(), Some("http://127.0.0.1:9"));
        assert!(!ConnectorSettings::from_vars(ExchangeId::Gateio, var).unwrap().testnet);
        let bad: HashMap<&str, &str> = [("KUCOIN_TESTNET", "maybe")].into();
        let err = ConnectorSettings::from_vars(ExchangeId::Kucoin, |n| bad.get(n).map(|s| s.to_string())).unwrap_err();
        assert!(err.contains("KUCOIN_TESTNET"), "{err}");
    }

    #[test]
    fn creates_builtins_by_name_and_accepts_new_ones() {
        let r = ConnectorRegistry::with_builtin();
        assert_eq!(r.names(), ["binance", "bybit", "gateio", "kucoin"]);
        for ex in ExchangeId::ALL {
            let c = r.create(ex.as_str(), ConnectorSettings::new(ex)).unwrap();
            assert_eq!((c.exchange(), c.testnet()), (ex, true));
        }
        assert!(r.create("kraken", ConnectorSettings::new(ExchangeId::Binance)).is_err());
        r.register(
            "binance-us",
            Arc::new(|mut s: ConnectorSettings| {
                s.rest_url = Some("https://api.binance.us".into());
                Ok(Arc::new(crate::connectors::binance::BinanceConnector::new(s)?) as Arc<dyn Connector>)
            }),
        );
        assert!(r.names().contains(&"binance-us".to_string()));
        assert!(r.create("Binance-US", ConnectorSettings::new(ExchangeId::Binance)).is_ok());
    }
}
