//! Exchange connections of the `/api/v1/exchanges` API: one per exchange from the
//! environment (`BINANCE_API_KEY`, ...; public calls work without keys), plus those
//! created through the API, whose keys are sealed by the [`Vault`] and kept in SQLite.
//! Keys never leave: the views show a masked key and whether a secret is set.

use super::vault::Vault;
use super::{
    Connector, ConnectorError, ConnectorRegistry, ConnectorResult, ConnectorSettings, Credentials, ExchangeId, Market,
    SymbolRules,
};
use crate::store::{ConnectionRow, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// A connection as the API shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConnectionInfo {
    /// Id (the exchange name for connections from the environment).
    pub id: String,
    /// `binance`, `gateio`, `kucoin` or `bybit`.
    pub exchange: String,
    /// Testnet endpoints.
    pub testnet: bool,
    /// `spot` or `futures`.
    pub market: String,
    /// Keys are set.
    pub has_keys: bool,
    /// The API key, masked (`abcd***`).
    pub api_key: Option<String>,
    /// `env` or `api`.
    pub source: String,
    /// Creation time, ms.
    pub created_ms: i64,
}

/// A new or updated connection (the body of `POST`/`PUT /api/v1/exchanges/connections`).
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewConnection {
    /// Id; default `<exchange>-<n>`.
    pub id: Option<String>,
    /// `binance`, `gateio`, `kucoin` or `bybit`.
    pub exchange: String,
    /// API key.
    pub api_key: Option<String>,
    /// API secret (write-only).
    #[serde(alias = "secret_key", alias = "secret")]
    pub api_secret: Option<String>,
    /// KuCoin passphrase (write-only).
    pub passphrase: Option<String>,
    /// Testnet endpoints (default true).
    #[serde(alias = "is_testnet")]
    pub testnet: Option<bool>,
    /// `spot` (default) or `futures`.
    pub market: Option<String>,
}

impl fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewConnection")
            .field("id", &self.id)
            .field("exchange", &self.exchange)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_secret", &self.api_secret.as_ref().map(|_| "***"))
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .field("testnet", &self.testnet)
            .field("market", &self.market)
            .finish()
    }
}

/// One connection and its connector.
pub struct Connection {
    /// What the API shows.
    pub info: ConnectionInfo,
    /// The connector.
    pub connector: Arc<dyn Connector>,
    rules: Mutex<Option<(Instant, Arc<Vec<SymbolRules>>)>>,
}

/// How long exchange info is cached.
const RULES_TTL: Duration = Duration::from_secs(300);

impl Connection {
    /// Trading rules, cached for five minutes.
    pub async fn rules(&self) -> ConnectorResult<Arc<Vec<SymbolRules>>> {
        if let Some((at, r)) = self.rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
            && at.elapsed() < RULES_TTL
        {
            return Ok(r.clone());
        }
        let fresh = Arc::new(self.connector.exchange_info().await?);
        *self.rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// Why a connection request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such connection.
    #[error("no exchange connection `{0}`")]
    NotFound(String),
    /// Already exists.
    #[error("exchange connection `{0}` already exists")]
    Exists(String),
    /// Storage failed.
    #[error("{0}")]
    Storage(String),
}

/// Every connection.
pub struct Connections {
    registry: ConnectorRegistry,
    vault: Option<Vault>,
    db: Option<Mutex<Store>>,
    entries: RwLock<BTreeMap<String, Arc<Connection>>>,
    env: fn(&str) -> Option<String>,
}

fn market_name(m: Market) -> &'static str {
    match m {
        Market::Spot => "spot",
        Market::Futures => "futures",
    }
}

impl Connections {
    /// Connections from the environment (`env` looks variables up) and the database.
    pub fn load(
        registry: ConnectorRegistry,
        vault: Option<Vault>,
        db: Option<&Path>,
        env: fn(&str) -> Option<String>,
    ) -> Connections {
        let db = db.and_then(|p| match Store::open(p) {
            Ok(s) => Some(Mutex::new(s)),
            Err(e) => {
                tracing::error!(error = %e, "exchange connections cannot be stored");
                None
            }
        });
        let c = Connections { registry, vault, db, entries: RwLock::new(BTreeMap::new()), env };
        for ex in ExchangeId::ALL {
            match ConnectorSettings::from_vars(ex, env) {
                Ok(settings) => {
                    if let Err(e) = c.insert(ex.as_str().to_string(), settings, "env", 0) {
                        tracing::warn!(exchange = %ex, error = %e, "connection from the environment not created");
                    }
                }
                Err(e) => tracing::warn!(exchange = %ex, error = %e, "bad exchange settings in the environment"),
            }
        }
        let rows = c.db.as_ref().map(|db| db.lock().unwrap_or_else(std::sync::PoisonError::into_inner).connections());
        for row in rows.into_iter().flat_map(|r| r.unwrap_or_default()) {
            if let Err(e) = c.restore(&row) {
                tracing::error!(connection = %row.id, error = %e, "stored exchange connection not loaded");
            }
        }
        c
    }

    fn restore(&self, row: &ConnectionRow) -> Result<(), String> {
        let ex = ExchangeId::parse(&row.exchange).ok_or_else(|| format!("unknown exchange {}", row.exchange))?;
        let mut settings = ConnectorSettings::from_vars(ex, self.env)?;
        settings.testnet = row.testnet;
        settings.market = if row.market == "futures" { Market::Futures } else { Market::Spot };
        settings.credentials = match (&row.sealed_keys, &self.vault) {
            (None, _) => None,
            (Some(_), None) => return Err(format!("its keys are encrypted: set {}", super::vault::MASTER_KEY_VAR)),
            (Some(sealed), Some(v)) => Some(v.open(&row.id, sealed).map_err(|e| e.to_string())?),
        };
        self.insert(row.id.clone(), settings, "api", row.created_ms).map_err(|e| e.to_string())
    }

    fn insert(&self, id: String, settings: ConnectorSettings, source: &str, created_ms: i64) -> ConnectorResult<()> {
        let entry = self.build(id.clone(), settings, source, created_ms)?;
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, entry);
        Ok(())
    }

    /// A connection with its connector, not yet registered (so a refused one changes nothing).
    fn build(
        &self,
        id: String,
        settings: ConnectorSettings,
        source: &str,
        created_ms: i64,
    ) -> ConnectorResult<Arc<Connection>> {
        let info = ConnectionInfo {
            id: id.clone(),
            exchange: settings.exchange.as_str().to_string(),
            testnet: settings.testnet,
            market: market_name(settings.market).to_string(),
            has_keys: settings.credentials.is_some(),
            api_key: settings.credentials.as_ref().map(Credentials::masked_key),
            source: source.to_string(),
            created_ms,
        };
        let connector = self.registry.create(settings.exchange.as_str(), settings)?;
        Ok(Arc::new(Connection { info, connector, rules: Mutex::new(None) }))
    }

    /// True when the database holds a connection with this id (loaded or not: one whose
    /// keys could not be opened is still there and must not be overwritten).
    fn stored(&self, id: &str) -> Result<bool, ConnectionError> {
        let Some(db) = &self.db else { return Ok(false) };
        let rows = db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .connections()
            .map_err(|e| ConnectionError::Storage(e.to_string()))?;
        Ok(rows.iter().any(|r| r.id == id))
    }

    /// Every connection, by id.
    pub fn list(&self) -> Vec<ConnectionInfo> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|e| e.info.clone())
            .collect()
    }

    /// A connection by id, or the environment connection of an exchange name.
    pub fn get(&self, id: &str) -> Result<Arc<Connection>, ConnectionError> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = entries.get(id) {
            return Ok(e.clone());
        }
        let ex = ExchangeId::parse(id).ok_or_else(|| ConnectionError::NotFound(id.to_string()))?;
        entries
            .values()
            .find(|e| e.info.exchange == ex.as_str())
            .cloned()
            .ok_or_else(|| ConnectionError::NotFound(id.to_string()))
    }

    /// Create a connection; keys are sealed before they are stored.
    pub fn create(&self, req: NewConnection, now_ms: i64) -> Result<ConnectionInfo, ConnectionError> {
        let ex = ExchangeId::parse(&req.exchange).ok_or_else(|| {
            ConnectionError::Invalid(format!(
                "unknown exchange `{}`: use binance, gateio, kucoin or bybit",
                req.exchange
            ))
        })?;
        let id = match &req.id {
            Some(id) => id.clone(),
            None => {
                let n = self.list().iter().filter(|c| c.exchange == ex.as_str()).count() + 1;
                format!("{}-{n}", ex.as_str())
            }
        };
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(ConnectionError::Invalid("id: 1-64 letters, digits, `-` or `_`".into()));
        }
        if self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&id)
            || self.stored(&id)?
        {
            return Err(ConnectionError::Exists(id));
        }
        self.write(id, ex, req, now_ms)
    }

    /// Replace a connection created through the API.
    pub fn update(&self, id: &str, req: NewConnection, now_ms: i64) -> Result<ConnectionInfo, ConnectionError> {
        let old = self.get(id)?;
        if old.info.id != id {
            return Err(ConnectionError::NotFound(id.to_string()));
        }
        if old.info.source == "env" {
            return Err(ConnectionError::Invalid(format!(
                "`{id}` comes from the environment; change the variables and restart, or create another connection"
            )));
        }
        let ex = ExchangeId::parse(&req.exchange)
            .or_else(|| ExchangeId::parse(&old.info.exchange))
            .ok_or_else(|| ConnectionError::Invalid("unknown exchange".into()))?;
        self.write(id.to_string(), ex, req, now_ms.min(old.info.created_ms.max(1)))
    }

    fn write(
        &self,
        id: String,
        ex: ExchangeId,
        req: NewConnection,
        now_ms: i64,
    ) -> Result<ConnectionInfo, ConnectionError> {
        let mut settings = ConnectorSettings::from_vars(ex, self.env).map_err(ConnectionError::Invalid)?;
        settings.testnet = req.testnet.unwrap_or(true);
        settings.market = match req.market.as_deref().unwrap_or("spot") {
            "spot" => Market::Spot,
            "futures" => Market::Futures,
            other => return Err(ConnectionError::Invalid(format!("market `{other}`: use spot or futures"))),
        };
        settings.credentials = match (&req.api_key, &req.api_secret) {
            (None, None) => None,
            (Some(k), Some(s)) if !k.trim().is_empty() && !s.trim().is_empty() => {
                Some(Credentials::new(k.trim(), s.trim(), req.passphrase.clone()))
            }
            _ => return Err(ConnectionError::Invalid("send both api_key and api_secret, or neither".into())),
        };
        if ex == ExchangeId::Kucoin && settings.credentials.as_ref().is_some_and(|c| c.passphrase.is_none()) {
            return Err(ConnectionError::Invalid("KuCoin keys need the passphrase too".into()));
        }
        let sealed = match (&settings.credentials, &self.vault) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ConnectionError::Invalid(format!(
                    "keys are only stored encrypted: set {} (32 bytes, hex or base64) and restart",
                    super::vault::MASTER_KEY_VAR
                )));
            }
            (Some(c), Some(v)) => Some(v.seal(&id, c).map_err(|e| ConnectionError::Storage(e.to_string()))?),
        };
        let row = ConnectionRow {
            id: id.clone(),
            exchange: ex.as_str().to_string(),
            testnet: settings.testnet,
            market: market_name(settings.market).to_string(),
            sealed_keys: sealed,
            created_ms: now_ms,
        };
        // Build the connector first: a refused connection leaves the stored one untouched.
        let entry =
            self.build(id.clone(), settings, "api", now_ms).map_err(|e| ConnectionError::Invalid(e.to_string()))?;
        if let Some(db) = &self.db {
            db.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .save_connection(&row)
                .map_err(|e| ConnectionError::Storage(e.to_string()))?;
        }
        let info = entry.info.clone();
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, entry);
        Ok(info)
    }

    /// Delete a connection created through the API.
    pub fn delete(&self, id: &str) -> Result<(), ConnectionError> {
        let entry = self.get(id)?;
        if entry.info.id != id {
            return Err(ConnectionError::NotFound(id.to_string()));
        }
        if entry.info.source == "env" {
            return Err(ConnectionError::Invalid(format!(
                "`{id}` comes from the environment; unset its variables and restart to remove it"
            )));
        }
        if let Some(db) = &self.db {
            db.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .delete_connection(id)
                .map_err(|e| ConnectionError::Storage(e.to_string()))?;
        }
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
        Ok(())
    }
}

/// Where a connector error maps for the API: (HTTP status, message).
pub fn api_status(e: &ConnectorError) -> (u16, String) {
    let status = match e {
        ConnectorError::Rejected { .. } | ConnectorError::Filter { .. } | ConnectorError::Unsupported { .. } => 400,
        ConnectorError::OrderNotFound { .. } => 404,
        ConnectorError::Halted(_) => 409,
        ConnectorError::RateLimited { .. } | ConnectorError::Banned { .. } => 429,
        ConnectorError::Auth { .. } | ConnectorError::Network { .. } | ConnectorError::Decode { .. } => 502,
    };
    (status, e.to_string())
}
