//! data.binance.vision CSV files as a feed: trades, aggTrades and 12-column klines, with
//! or without a header line, plain or gzip; plus plain `open_time,open,high,low,close,volume`
//! candle files with a UTC date-time (as exported from Binance.US).
//!
//! The kind comes from the file name when it says (`-trades-`, `-aggTrades-`, `klines`,
//! `-1m-`) and otherwise from the column count. Timestamps in ms, µs (newer
//! data.binance.vision files) or ns are normalised to ms.

use super::binance_ws::{decimal, plain_decimal};
use super::merge::ReplaySource;
use super::replay::{LineSource, handle_bad_line};
use super::time::{epoch_to_ms, fixed_datetime_ms, parse_utc_datetime_ms};
use super::{Feed, FeedError, FeedEvent, SharedSymbols, SymbolCache};
use crate::market_data::candle::{Candle, MINUTE_MS};
use crate::market_data::tick::{SymbolId, Tick};
use rust_decimal::Decimal;
use std::path::Path;

/// The kinds of CSV file understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    /// `id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]`
    Trades,
    /// `agg_id,price,qty,first_id,last_id,time,is_buyer_maker,is_best_match`
    AggTrades,
    /// The 12-column kline format (open time ... taker buy quote, ignore).
    Klines,
    /// `open_time,open,high,low,close,volume` with a date-time open time; the other
    /// candle fields are zero.
    Ohlcv,
}

/// Options of a CSV feed.
#[derive(Debug, Clone, Default)]
pub struct CsvConfig {
    /// The symbol, instead of the leading upper-case run of the file name.
    pub symbol: Option<String>,
    /// The kind, instead of guessing it from the name and columns.
    pub kind: Option<CsvKind>,
    /// Log and skip lines that do not parse instead of returning the error.
    pub skip_bad_lines: bool,
}

/// A CSV file as a feed of trades or candles. Files start on a minute (day) boundary.
pub struct CsvFeed {
    lines: LineSource,
    symbol: SymbolId,
    kind: CsvKind,
    skip_bad_lines: bool,
    skipped: u64,
}

/// The most columns any kind has.
const MAX_COLUMNS: usize = 12;

impl CsvFeed {
    /// Open a CSV file, naming the symbol and kind from the file or the config.
    pub fn open(path: &Path, symbols: SharedSymbols, config: CsvConfig) -> Result<CsvFeed, FeedError> {
        let unknown = |reason: String| FeedError::UnknownFormat { path: path.to_path_buf(), reason };
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let name = config.symbol.as_deref().unwrap_or_else(|| symbol_from_file_name(file_name));
        if name.is_empty() {
            return Err(unknown("no symbol in the file name; give one explicitly".into()));
        }
        let symbol = SymbolCache::new(symbols).resolve(name).map_err(|e| unknown(e.to_string()))?;
        let mut lines = LineSource::open(path)?;
        let (first, header) = first_data_line(&mut lines)?;
        let kind = match config.kind.or_else(|| kind_from_file_name(file_name)) {
            Some(kind) => kind,
            None => kind_from_columns(&first, header)
                .ok_or_else(|| unknown(format!("unrecognised columns in {first:?}")))?,
        };
        Ok(CsvFeed { lines, symbol, kind, skip_bad_lines: config.skip_bad_lines, skipped: 0 })
    }

    /// The kind being read.
    pub fn kind(&self) -> CsvKind {
        self.kind
    }

    /// Lines skipped as bad (with `skip_bad_lines`).
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }
}

/// One data row of `kind` as an event.
fn parse_row(kind: CsvKind, symbol: SymbolId, line: &str) -> Result<FeedEvent, FeedError> {
    let mut cols = [""; MAX_COLUMNS];
    let mut n = 0;
    for col in line.split(',') {
        *cols.get_mut(n).ok_or_else(|| FeedError::frame("too many columns"))? = col.trim();
        n += 1;
    }
    let want = match kind {
        CsvKind::Trades if n == 6 || n == 7 => n,
        CsvKind::Trades => 7,
        CsvKind::AggTrades => 8,
        CsvKind::Klines => 12,
        CsvKind::Ohlcv => 6,
    };
    if n != want {
        return Err(FeedError::frame(format!("expected {want} columns, found {n}")));
    }
    Ok(match kind {
        CsvKind::Trades => trade(symbol, cols[0], cols[1], cols[2], cols[4], cols[5])?,
        CsvKind::AggTrades => trade(symbol, cols[0], cols[1], cols[2], cols[5], cols[6])?,
        CsvKind::Klines => kline(symbol, &cols)?,
        CsvKind::Ohlcv => ohlcv(symbol, &cols)?,
    })
}

/// The leading run of upper-case letters and digits: `BTCUSDT-trades-2024-01-01.csv`.
pub(crate) fn symbol_from_file_name(file_name: &str) -> &str {
    let end = file_name.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit())).unwrap_or(file_name.len());
    &file_name[..end]
}

fn kind_from_file_name(file_name: &str) -> Option<CsvKind> {
    let lower = file_name.to_ascii_lowercase();
    if lower.contains("aggtrades") {
        Some(CsvKind::AggTrades)
    } else if lower.contains("-trades-") || lower.contains("_trades_") {
        Some(CsvKind::Trades)
    } else if lower.contains("klines") || lower.contains("-1m-") {
        Some(CsvKind::Klines)
    } else {
        None
    }
}

fn kind_from_columns(line: &str, header: Option<String>) -> Option<CsvKind> {
    let first = line.split(',').next().unwrap_or("");
    let dated = first.contains('-') && first.contains(':');
    match line.split(',').count() {
        12 => Some(CsvKind::Klines),
        8 => Some(CsvKind::AggTrades),
        7 => Some(CsvKind::Trades),
        6 if dated || header.is_some_and(|h| h.contains("open")) => Some(CsvKind::Ohlcv),
        6 => Some(CsvKind::Trades),
        _ => None,
    }
}

/// The first data line (handed back to be read again) and the header line, if any.
fn first_data_line(lines: &mut LineSource) -> Result<(String, Option<String>), FeedError> {
    let mut header = None;
    while let Some(line) = lines.next_line()? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if header.is_none() && line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            header = Some(line.to_owned());
            continue;
        }
        let line = line.to_owned();
        lines.unread();
        return Ok((line, header));
    }
    Ok((String::new(), header))
}

fn int<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, FeedError> {
    text.parse().map_err(|_| FeedError::frame(format!("bad {field} {text:?}")))
}

fn boolean(field: &str, text: &str) -> Result<bool, FeedError> {
    match text {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        _ => Err(FeedError::frame(format!("bad {field} {text:?}"))),
    }
}

fn time_ms(field: &str, text: &str) -> Result<i64, FeedError> {
    Ok(epoch_to_ms(int(field, text)?))
}

fn trade(symbol: SymbolId, id: &str, price: &str, qty: &str, time: &str, maker: &str) -> Result<FeedEvent, FeedError> {
    Ok(FeedEvent::Trade(Tick {
        symbol,
        time_ms: time_ms("time", time)?,
        price: decimal("price", price)?,
        qty: decimal("qty", qty)?,
        trade_id: int("id", id)?,
        buyer_maker: boolean("is_buyer_maker", maker)?,
    }))
}

fn kline(symbol: SymbolId, cols: &[&str; MAX_COLUMNS]) -> Result<FeedEvent, FeedError> {
    Ok(FeedEvent::Candle(Candle {
        symbol,
        open_time_ms: time_ms("open time", cols[0])?,
        close_time_ms: time_ms("close time", cols[6])?,
        open: decimal("open", cols[1])?,
        high: decimal("high", cols[2])?,
        low: decimal("low", cols[3])?,
        close: decimal("close", cols[4])?,
        volume: decimal("volume", cols[5])?,
        quote_volume: decimal("quote volume", cols[7])?,
        trades: int("trades", cols[8])?,
        taker_buy_base: decimal("taker buy base", cols[9])?,
        taker_buy_quote: decimal("taker buy quote", cols[10])?,
    }))
}

fn ohlcv(symbol: SymbolId, cols: &[&str; MAX_COLUMNS]) -> Result<FeedEvent, FeedError> {
    let open_time_ms = match parse_utc_datetime_ms(cols[0]) {
        Some(ms) => ms,
        None => time_ms("open time", cols[0])?,
    };
    Ok(FeedEvent::Candle(Candle {
        symbol,
        open_time_ms,
        close_time_ms: open_time_ms.saturating_add(MINUTE_MS - 1),
        open: decimal("open", cols[1])?,
        high: decimal("high", cols[2])?,
        low: decimal("low", cols[3])?,
        close: decimal("close", cols[4])?,
        volume: decimal("volume", cols[5])?,
        quote_volume: Decimal::ZERO,
        trades: 0,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    }))
}

/// The usual OHLCV row (`2023-03-01 00:00:00+00:00,23140.48,...,2.131777`: a date-time of
/// the fixed shape, then five plain decimals, no spaces) in one pass over its bytes, as
/// [`ohlcv`] reads it; `None` hands any other row to the general parser, which reads it
/// or says what is wrong with it.
fn fast_ohlcv(symbol: SymbolId, line: &str) -> Option<Candle> {
    let mut cols = line.as_bytes().split(|&b| b == b',');
    let time = cols.next()?;
    let time = time.strip_suffix(b"+00:00").or_else(|| time.strip_suffix(b"Z")).unwrap_or(time);
    let open_time_ms = fixed_datetime_ms(time)?;
    let mut num = || cols.next().and_then(plain_decimal);
    let (open, high, low, close, volume) = (num()?, num()?, num()?, num()?, num()?);
    if cols.next().is_some() {
        return None;
    }
    Some(Candle {
        symbol,
        open_time_ms,
        close_time_ms: open_time_ms.saturating_add(MINUTE_MS - 1),
        open,
        high,
        low,
        close,
        volume,
        quote_volume: Decimal::ZERO,
        trades: 0,
        taker_buy_base: Decimal::ZERO,
        taker_buy_quote: Decimal::ZERO,
    })
}

impl ReplaySource for CsvFeed {
    /// Keyed by event time in ns (a candle by its close time).
    fn next_keyed(&mut self) -> Result<Option<(i64, FeedEvent)>, FeedError> {
        loop {
            let Some(line) = self.lines.next_line()? else { return Ok(None) };
            if self.kind == CsvKind::Ohlcv
                && let Some(c) = fast_ohlcv(self.symbol, line)
            {
                return Ok(Some((c.close_time_ms.saturating_mul(1_000_000), FeedEvent::Candle(c))));
            }
            if line.trim().is_empty() {
                continue;
            }
            match parse_row(self.kind, self.symbol, line) {
                Ok(event) => {
                    let key = event.time_ms().unwrap_or(0).saturating_mul(1_000_000);
                    return Ok(Some((key, event)));
                }
                Err(err) => {
                    let err = err.at(self.lines.path(), self.lines.line_no());
                    handle_bad_line(err, self.skip_bad_lines, &mut self.skipped)?;
                }
            }
        }
    }
}

impl Feed for CsvFeed {
    fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError> {
        Ok(self.next_keyed()?.map(|(_, event)| event))
    }

    fn starts_on_minute_boundary(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
