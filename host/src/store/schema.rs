//! Tables and pragmas.

use rusqlite::Connection;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS candles (
    symbol TEXT NOT NULL, open_time INTEGER NOT NULL, close_time INTEGER NOT NULL,
    open TEXT NOT NULL, high TEXT NOT NULL, low TEXT NOT NULL, close TEXT NOT NULL,
    volume TEXT NOT NULL, quote_volume TEXT NOT NULL, trades INTEGER NOT NULL,
    taker_buy_base TEXT NOT NULL, taker_buy_quote TEXT NOT NULL,
    PRIMARY KEY (symbol, open_time)
);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, price TEXT NOT NULL, reason TEXT NOT NULL, time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, instance TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    kind TEXT NOT NULL, price TEXT, qty TEXT NOT NULL, filled TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT, tag TEXT NOT NULL, time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id), instance TEXT NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL, qty TEXT NOT NULL,
    fee TEXT NOT NULL, realized_pnl TEXT NOT NULL, time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    instance TEXT NOT NULL, symbol TEXT NOT NULL, qty TEXT NOT NULL, avg_price TEXT NOT NULL,
    realized_pnl TEXT NOT NULL, fees TEXT NOT NULL, PRIMARY KEY (instance, symbol)
);
CREATE TABLE IF NOT EXISTS balances (
    instance TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (instance, asset)
);
CREATE TABLE IF NOT EXISTS snapshots (
    instance TEXT PRIMARY KEY, module_hash TEXT NOT NULL, state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, command TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fills_by_instance ON fills (instance, id);
CREATE INDEX IF NOT EXISTS fills_by_order ON fills (order_id);
CREATE TABLE IF NOT EXISTS exchange_snapshots (journal_seq INTEGER PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bots (id TEXT PRIMARY KEY, request TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS exchange_connections (
    id TEXT PRIMARY KEY,
    exchange TEXT NOT NULL,
    testnet INTEGER NOT NULL,
    market TEXT NOT NULL,
    sealed_keys BLOB,
    created_ms INTEGER NOT NULL
);
";

/// Create tables that do not exist yet.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}
