//! SQLite persistence (WAL): candles, signals, orders, fills, positions, balances and
//! strategy snapshots. The core loop writes one transaction per batch of events, so a
//! killed process leaves the last committed batch whole: fills never without their
//! order, positions never out of step with fills.

mod rows;
mod schema;

pub use rows::{CandleRow, OrderRow, SignalRow, TradeRow};

use crate::execution::{Account, Fill, Order, OrderKind, OrderStatus, Position, Side};
use crate::market_data::{Candle, SymbolId, Symbols};
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A saved exchange connection; the keys are sealed (AES-256-GCM) by the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    /// Connection id.
    pub id: String,
    /// Exchange name.
    pub exchange: String,
    /// Testnet endpoints.
    pub testnet: bool,
    /// `spot` or `futures`.
    pub market: String,
    /// Nonce + ciphertext of the keys, if any.
    pub sealed_keys: Option<Vec<u8>>,
    /// Creation time, ms.
    pub created_ms: i64,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value did not parse (a corrupted or foreign database).
    #[error("database holds an unreadable value in {table}.{column}: {value}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The text found.
        value: String,
    },
}

/// A signal a strategy raised.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    /// Strategy instance.
    pub instance: String,
    /// Symbol.
    pub symbol: SymbolId,
    /// Direction.
    pub side: Side,
    /// Price at the signal.
    pub price: Decimal,
    /// Why.
    pub reason: String,
    /// Event time, ms.
    pub time_ms: i64,
}

/// Everything one batch of events changed, written in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Closed candles.
    pub candles: Vec<Candle>,
    /// Signals.
    pub signals: Vec<SignalRecord>,
    /// Orders created or changed (upserted by id).
    pub orders: Vec<Order>,
    /// Fills.
    pub fills: Vec<Fill>,
    /// Accounts whose balances or positions changed.
    pub accounts: Vec<(String, Account)>,
    /// Strategy snapshots: instance, module hash, bytes.
    pub snapshots: Vec<(String, String, Vec<u8>)>,
    /// Matching-engine commands, serialised, in the order they were applied.
    pub journal: Vec<String>,
    /// Event time processed up to (for resuming a replay).
    pub cursor_ms: Option<i64>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
            && self.signals.is_empty()
            && self.orders.is_empty()
            && self.fills.is_empty()
            && self.accounts.is_empty()
            && self.snapshots.is_empty()
            && self.journal.is_empty()
    }
}

/// The database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (creating if needed) a database file; `:memory:` for a throwaway one.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        schema::migrate(&conn)?;
        Ok(Store { conn })
    }

    /// Write a batch in one transaction.
    pub fn write(&mut self, batch: &Batch, symbols: &Symbols) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for c in &batch.candles {
            tx.prepare_cached("INSERT OR REPLACE INTO candles VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)")?
                .execute(params![
                    symbols.name(c.symbol),
                    c.open_time_ms,
                    c.close_time_ms,
                    c.open.to_string(),
                    c.high.to_string(),
                    c.low.to_string(),
                    c.close.to_string(),
                    c.volume.to_string(),
                    c.quote_volume.to_string(),
                    c.trades as i64,
                    c.taker_buy_base.to_string(),
                    c.taker_buy_quote.to_string()
                ])?;
        }
        for s in &batch.signals {
            tx.prepare_cached(
                "INSERT INTO signals (instance, symbol, side, price, reason, time) VALUES (?1,?2,?3,?4,?5,?6)",
            )?
            .execute(params![
                s.instance,
                symbols.name(s.symbol),
                s.side.as_str(),
                s.price.to_string(),
                s.reason,
                s.time_ms
            ])?;
        }
        for o in &batch.orders {
            // An upsert, not INSERT OR REPLACE: a replace deletes the row first, which makes
            // SQLite look for fills referencing it.
            tx.prepare_cached(
                "INSERT INTO orders VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) ON CONFLICT(id) DO UPDATE SET \
                 filled = excluded.filled, status = excluded.status, reason = excluded.reason",
            )?
            .execute(params![
                o.id as i64,
                o.instance,
                symbols.name(o.symbol),
                o.side.as_str(),
                o.kind.as_str(),
                o.kind.price().map(|p| p.to_string()),
                o.qty.to_string(),
                o.filled.to_string(),
                o.status.as_str(),
                o.reason,
                o.tag,
                o.time_ms
            ])?;
        }
        for f in &batch.fills {
            tx.prepare_cached(
                "INSERT INTO fills (order_id, instance, symbol, side, price, qty, fee, realized_pnl, time) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            )?
            .execute(params![
                f.order_id as i64,
                f.instance,
                symbols.name(f.symbol),
                f.side.as_str(),
                f.price.to_string(),
                f.qty.to_string(),
                f.fee.to_string(),
                f.realized_pnl.to_string(),
                f.time_ms
            ])?;
        }
        for (instance, acc) in &batch.accounts {
            tx.prepare_cached("DELETE FROM balances WHERE instance = ?1")?.execute([instance])?;
            for (asset, amount) in &acc.balances {
                tx.prepare_cached("INSERT INTO balances VALUES (?1,?2,?3)")?.execute(params![
                    instance,
                    asset,
                    amount.to_string()
                ])?;
            }
            for (sym, p) in &acc.positions {
                tx.prepare_cached("INSERT OR REPLACE INTO positions VALUES (?1,?2,?3,?4,?5,?6)")?.execute(params![
                    instance,
                    symbols.name(*sym),
                    p.qty.to_string(),
                    p.avg_price.to_string(),
                    p.realized_pnl.to_string(),
                    p.fees.to_string()
                ])?;
            }
        }
        for (instance, hash, bytes) in &batch.snapshots {
            tx.prepare_cached("INSERT OR REPLACE INTO snapshots VALUES (?1,?2,?3)")?
                .execute(params![instance, hash, bytes])?;
        }
        if !batch.journal.is_empty() {
            let mut st = tx.prepare_cached("INSERT INTO journal (command) VALUES (?1)")?;
            for command in &batch.journal {
                st.execute([command])?;
            }
        }
        if let Some(c) = batch.cursor_ms {
            tx.prepare_cached("INSERT OR REPLACE INTO meta VALUES ('cursor_ms', ?1)")?.execute([c.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every journaled matching-engine command, in order (the recovery path: replaying
    /// them from an empty engine rebuilds its state).
    pub fn journal<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, StoreError> {
        self.journal_after(i64::MIN)
    }

    /// Journaled commands after `seq` (the one a snapshot covers), in order.
    pub fn journal_after<T: serde::de::DeserializeOwned>(&self, seq: i64) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare("SELECT command FROM journal WHERE seq > ?1 ORDER BY seq")?;
        let rows = st.query_map([seq], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let text = row?;
            let cmd = serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                table: "journal",
                column: "command",
                value: text,
            })?;
            out.push(cmd);
        }
        Ok(out)
    }

    /// The latest exchange snapshot: (the journal sequence it covers, its bytes).
    pub fn exchange_snapshot(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT journal_seq, state FROM exchange_snapshots ORDER BY journal_seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// Save a snapshot covering every journaled command so far, then compact: commands it
    /// covers and older snapshots are deleted, in the same transaction. The last covered
    /// command is kept so sequence numbers keep growing. Returns the sequence covered.
    pub fn save_exchange_snapshot(&mut self, state: &[u8]) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| r.get(0))?;
        tx.execute("INSERT OR REPLACE INTO exchange_snapshots VALUES (?1, ?2)", params![seq, state])?;
        tx.execute("DELETE FROM journal WHERE seq < ?1", [seq])?;
        tx.execute("DELETE FROM exchange_snapshots WHERE journal_seq < ?1", [seq])?;
        tx.commit()?;
        Ok(seq)
    }

    /// The event time a previous run processed up to.
    pub fn cursor(&self) -> Result<Option<i64>, StoreError> {
        let v: Option<String> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'cursor_ms'", [], |r| r.get(0)).optional()?;
        Ok(v.and_then(|s| s.parse().ok()))
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Set a value of the `meta` table (outside the batch: small, rare settings).
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?1, ?2)", [key, value])?;
        Ok(())
    }

    /// The prefix of every client order id this database's host sends to exchanges:
    /// `th` and 8 random hex digits, made once per database, so order ids of another
    /// database never collide with this one's on the same exchange account.
    pub fn client_id_prefix(&self) -> Result<String, StoreError> {
        if let Some(p) = self.meta("client_id_prefix")? {
            return Ok(p);
        }
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt {
            table: "meta",
            column: "client_id_prefix",
            value: format!("no randomness: {e}"),
        })?;
        let prefix = format!("th{}x", hex::encode(bytes));
        self.set_meta("client_id_prefix", &prefix)?;
        Ok(prefix)
    }

    /// Saved exchange connections: (id, exchange, testnet, market, sealed keys, created ms).
    pub fn connections(&self) -> Result<Vec<ConnectionRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, exchange, testnet, market, sealed_keys, created_ms FROM exchange_connections ORDER BY created_ms, id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ConnectionRow {
                id: r.get(0)?,
                exchange: r.get(1)?,
                testnet: r.get::<_, i64>(2)? != 0,
                market: r.get(3)?,
                sealed_keys: r.get(4)?,
                created_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Insert or replace a connection.
    pub fn save_connection(&self, c: &ConnectionRow) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO exchange_connections VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![c.id, c.exchange, i64::from(c.testnet), c.market, c.sealed_keys, c.created_ms],
        )?;
        Ok(())
    }

    /// Delete a connection; false if there was none.
    pub fn delete_connection(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM exchange_connections WHERE id = ?1", [id])? > 0)
    }

    /// Trading bots created through the API: (id, request JSON, created ms), oldest first.
    pub fn bots(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut st = self.conn.prepare("SELECT id, request, created_ms FROM bots ORDER BY created_ms, id")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record a trading bot (outside the batch: it must survive even if nothing else changes).
    pub fn save_bot(&self, id: &str, request: &str, created_ms: i64) -> Result<(), StoreError> {
        self.conn.execute("INSERT OR REPLACE INTO bots VALUES (?1, ?2, ?3)", params![id, request, created_ms])?;
        Ok(())
    }

    /// Highest order id used so far.
    pub fn max_order_id(&self) -> Result<u64, StoreError> {
        let v: Option<i64> = self.conn.query_row("SELECT MAX(id) FROM orders", [], |r| r.get(0))?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Saved strategy snapshots by instance.
    pub fn snapshots(&self) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut st = self.conn.prepare("SELECT instance, state FROM snapshots")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saved accounts (balances and positions) by instance; fee rates come from config.
    pub fn accounts(&self, symbols: &mut Symbols) -> Result<HashMap<String, Account>, StoreError> {
        let mut out: HashMap<String, Account> = HashMap::new();
        let mut st = self.conn.prepare("SELECT instance, asset, amount FROM balances")?;
        let rows =
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        for row in rows {
            let (instance, asset, amount) = row?;
            let amount = dec(&amount, "balances", "amount")?;
            out.entry(instance).or_default().balances.insert(asset, amount);
        }
        let mut st = self.conn.prepare("SELECT instance, symbol, qty, avg_price, realized_pnl, fees FROM positions")?;
        let rows =
            st.query_map([], |r| Ok([r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))?;
        for row in rows {
            let [instance, symbol, qty, avg, pnl, fees] = row?;
            let Some(id) = symbols.intern(&symbol) else { continue };
            let p = Position {
                qty: dec(&qty, "positions", "qty")?,
                avg_price: dec(&avg, "positions", "avg_price")?,
                realized_pnl: dec(&pnl, "positions", "realized_pnl")?,
                fees: dec(&fees, "positions", "fees")?,
            };
            out.entry(instance).or_default().positions.insert(id, p);
        }
        Ok(out)
    }

    /// Orders still working (to put back on the venue after a restart).
    pub fn open_orders(&self, symbols: &mut Symbols) -> Result<Vec<Order>, StoreError> {
        let rows = self.orders_where("status = 'NEW'", 1_000_000)?;
        let mut out = Vec::new();
        for r in rows {
            let Some(symbol) = symbols.intern(&r.symbol) else { continue };
            let price = r.price.unwrap_or_default();
            let kind = match r.kind.as_str() {
                "LIMIT" => OrderKind::Limit(price),
                "STOP_LOSS" => OrderKind::StopMarket(price),
                _ => OrderKind::Market,
            };
            out.push(Order {
                id: r.id,
                instance: r.instance,
                symbol,
                side: if r.side == "BUY" { Side::Buy } else { Side::Sell },
                kind,
                qty: r.qty,
                filled: r.filled,
                status: OrderStatus::New,
                reason: r.reason,
                tag: r.tag,
                time_ms: r.time,
            });
        }
        Ok(out)
    }

    /// Latest candles, oldest first, optionally for one symbol.
    pub fn candles(&self, symbol: Option<&str>, limit: usize) -> Result<Vec<CandleRow>, StoreError> {
        rows::candles(&self.conn, symbol, limit)
    }

    /// Latest fills (the trade log), oldest first, optionally filtered.
    pub fn trades(
        &self,
        instance: Option<&str>,
        symbol: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TradeRow>, StoreError> {
        rows::trades(&self.conn, instance, symbol, limit)
    }

    /// Latest signals, oldest first.
    pub fn signals(&self, limit: usize) -> Result<Vec<SignalRow>, StoreError> {
        rows::signals(&self.conn, limit)
    }

    /// Orders matching a SQL condition on the orders table (internal use).
    fn orders_where(&self, condition: &str, limit: usize) -> Result<Vec<OrderRow>, StoreError> {
        rows::orders(&self.conn, condition, limit)
    }

    /// Latest orders, oldest first.
    pub fn orders(&self, limit: usize) -> Result<Vec<OrderRow>, StoreError> {
        self.orders_where("1 = 1", limit)
    }
}

fn dec(s: &str, table: &'static str, column: &'static str) -> Result<Decimal, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt { table, column, value: s.to_string() })
}

/// Positions grouped for display: instance -> symbol -> position.
pub type PositionMap = BTreeMap<String, BTreeMap<String, Position>>;

#[cfg(test)]
mod tests;
