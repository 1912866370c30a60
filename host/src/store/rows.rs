//! Read models: rows as the API and the trade-log export show them.

use super::StoreError;
use rusqlite::{Connection, Row, params_from_iter};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// A stored one-minute candle. Decimals are JSON strings (exact).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CandleRow {
    /// Symbol, e.g. BTCUSDT.
    pub symbol: String,
    /// Start of the minute, ms since the Unix epoch.
    pub open_time: i64,
    /// Last millisecond of the minute.
    pub close_time: i64,
    #[schema(value_type = String)]
    /// First trade price.
    pub open: Decimal,
    #[schema(value_type = String)]
    /// Highest trade price.
    pub high: Decimal,
    #[schema(value_type = String)]
    /// Lowest trade price.
    pub low: Decimal,
    #[schema(value_type = String)]
    /// Last trade price.
    pub close: Decimal,
    #[schema(value_type = String)]
    /// Base volume.
    pub volume: Decimal,
    #[schema(value_type = String)]
    /// Quote volume.
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trades: u64,
    #[schema(value_type = String)]
    /// Taker-buy base volume.
    pub taker_buy_base: Decimal,
    #[schema(value_type = String)]
    /// Taker-buy quote volume.
    pub taker_buy_quote: Decimal,
}

/// One fill in the trade log.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TradeRow {
    /// Fill id.
    pub id: i64,
    /// Order id.
    pub order_id: i64,
    /// Strategy instance (variant), e.g. sma-ema-a.
    pub strategy: String,
    /// Symbol.
    pub symbol: String,
    /// BUY or SELL.
    pub side: String,
    #[schema(value_type = String)]
    /// Execution price.
    pub price: Decimal,
    #[schema(value_type = String)]
    /// Quantity.
    pub qty: Decimal,
    #[schema(value_type = String)]
    /// Fee in the quote asset.
    pub fee: Decimal,
    #[schema(value_type = String)]
    /// PnL realised by this fill, before fees.
    pub realized_pnl: Decimal,
    /// Event time, ms.
    pub time: i64,
}

/// A recorded signal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SignalRow {
    /// Signal id.
    pub id: i64,
    /// Strategy instance.
    pub strategy: String,
    /// Symbol.
    pub symbol: String,
    /// BUY or SELL.
    pub side: String,
    #[schema(value_type = String)]
    /// Price at the signal.
    pub price: Decimal,
    /// Why.
    pub reason: String,
    /// Event time, ms.
    pub time: i64,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrderRow {
    /// Order id.
    pub id: u64,
    /// Strategy instance.
    pub instance: String,
    /// Symbol.
    pub symbol: String,
    /// BUY or SELL.
    pub side: String,
    /// MARKET, LIMIT or STOP_LOSS.
    pub kind: String,
    #[schema(value_type = Option<String>)]
    /// Limit or stop price.
    pub price: Option<Decimal>,
    #[schema(value_type = String)]
    /// Quantity.
    pub qty: Decimal,
    #[schema(value_type = String)]
    /// Executed quantity.
    pub filled: Decimal,
    /// NEW, FILLED, CANCELED or REJECTED.
    pub status: String,
    /// Rejection reason.
    pub reason: Option<String>,
    /// The strategy's tag.
    pub tag: String,
    /// Event time, ms.
    pub time: i64,
}

fn dec_at(r: &Row, i: usize, table: &'static str) -> rusqlite::Result<Decimal> {
    let s: String = r.get(i)?;
    s.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(corrupt(table, s)))
    })
}

fn corrupt(table: &'static str, value: String) -> StoreError {
    StoreError::Corrupt { table, column: "decimal", value }
}

/// Newest `limit` rows of a query, returned oldest first.
fn latest<T>(
    conn: &Connection,
    sql: &str,
    args: Vec<String>,
    map: impl Fn(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare(sql)?;
    let mut out: Vec<T> = st.query_map(params_from_iter(args), |r| map(r))?.collect::<Result<_, _>>()?;
    out.reverse();
    Ok(out)
}

pub(super) fn candles(conn: &Connection, symbol: Option<&str>, limit: usize) -> Result<Vec<CandleRow>, StoreError> {
    let (cond, args) = match symbol {
        Some(s) => ("WHERE symbol = ?1", vec![s.to_string()]),
        None => ("", vec![]),
    };
    let sql = format!("SELECT * FROM candles {cond} ORDER BY open_time DESC, symbol DESC LIMIT {limit}");
    latest(conn, &sql, args, |r| {
        Ok(CandleRow {
            symbol: r.get(0)?,
            open_time: r.get(1)?,
            close_time: r.get(2)?,
            open: dec_at(r, 3, "candles")?,
            high: dec_at(r, 4, "candles")?,
            low: dec_at(r, 5, "candles")?,
            close: dec_at(r, 6, "candles")?,
            volume: dec_at(r, 7, "candles")?,
            quote_volume: dec_at(r, 8, "candles")?,
            trades: r.get::<_, i64>(9)? as u64,
            taker_buy_base: dec_at(r, 10, "candles")?,
            taker_buy_quote: dec_at(r, 11, "candles")?,
        })
    })
}

pub(super) fn trades(
    conn: &Connection,
    instance: Option<&str>,
    symbol: Option<&str>,
    limit: usize,
) -> Result<Vec<TradeRow>, StoreError> {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    if let Some(i) = instance {
        args.push(i.to_string());
        conds.push(format!("instance = ?{}", args.len()));
    }
    if let Some(s) = symbol {
        args.push(s.to_string());
        conds.push(format!("symbol = ?{}", args.len()));
    }
    let cond = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let sql = format!(
        "SELECT id, order_id, instance, symbol, side, price, qty, fee, realized_pnl, time FROM fills {cond} ORDER BY id DESC LIMIT {limit}"
    );
    latest(conn, &sql, args, |r| {
        Ok(TradeRow {
            id: r.get(0)?,
            order_id: r.get(1)?,
            strategy: r.get(2)?,
            symbol: r.get(3)?,
            side: r.get(4)?,
            price: dec_at(r, 5, "fills")?,
            qty: dec_at(r, 6, "fills")?,
            fee: dec_at(r, 7, "fills")?,
            realized_pnl: dec_at(r, 8, "fills")?,
            time: r.get(9)?,
        })
    })
}

pub(super) fn signals(conn: &Connection, limit: usize) -> Result<Vec<SignalRow>, StoreError> {
    let sql =
        format!("SELECT id, instance, symbol, side, price, reason, time FROM signals ORDER BY id DESC LIMIT {limit}");
    latest(conn, &sql, vec![], |r| {
        Ok(SignalRow {
            id: r.get(0)?,
            strategy: r.get(1)?,
            symbol: r.get(2)?,
            side: r.get(3)?,
            price: dec_at(r, 4, "signals")?,
            reason: r.get(5)?,
            time: r.get(6)?,
        })
    })
}

pub(super) fn orders(conn: &Connection, condition: &str, limit: usize) -> Result<Vec<OrderRow>, StoreError> {
    let sql = format!(
        "SELECT id, instance, symbol, side, kind, price, qty, filled, status, reason, tag, time FROM orders WHERE {condition} ORDER BY id DESC LIMIT {limit}"
    );
    latest(conn, &sql, vec![], |r| {
        let price: Option<String> = r.get(5)?;
        Ok(OrderRow {
            id: r.get::<_, i64>(0)? as u64,
            instance: r.get(1)?,
            symbol: r.get(2)?,
            side: r.get(3)?,
            kind: r.get(4)?,
            price: price.and_then(|p| p.parse().ok()),
            qty: dec_at(r, 6, "orders")?,
            filled: dec_at(r, 7, "orders")?,
            status: r.get(8)?,
            reason: r.get(9)?,
            tag: r.get(10)?,
            time: r.get(11)?,
        })
    })
}
