//! Opening recorded files: line reading (plain or gzip, detected by magic bytes), picking
//! the parser from the content, and [`open_replay`], which merges several files.

use super::csv::{CsvConfig, CsvFeed};
use super::merge::{MergedFeed, ReplaySource};
use super::ws_replay::WsReplay;
use super::{Feed, FeedError, SharedSymbols};
use crate::connectors::ExchangeId;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::{Path, PathBuf};

/// Options shared by the replay feeds.
#[derive(Debug, Clone, Default)]
pub struct ReplayConfig {
    /// Log and skip lines that do not parse instead of returning the error. Off by
    /// default: a bad line in a recording usually means a bad recording.
    pub skip_bad_lines: bool,
    /// Venue-qualified markets wanted (`bybit:BTCUSDT`): a recorded frame of that venue
    /// and pair is published under this name too, besides the bare pair.
    pub markets: Vec<String>,
}

/// Open recorded files as one feed: Binance WebSocket recordings (`<recv_ts_ns> <frame>`
/// lines, or bare frames; gzip or plain) and data.binance.vision CSVs (trades, aggTrades,
/// klines). Several files are merged in event order (by receive time for recordings), so
/// BTC and ETH recordings interleave as they were recorded.
///
/// Build candles from a recording with `CandleAggregator::new(true)` (it joined
/// mid-minute) and from CSVs with `false`; the returned feed's
/// [`Feed::starts_on_minute_boundary`] tells which.
pub fn open_replay(paths: &[PathBuf], symbols: SharedSymbols) -> Result<Box<dyn Feed>, FeedError> {
    open_replay_with(paths, symbols, &ReplayConfig::default())
}

/// [`open_replay`] with options. A path may name the venue its data comes from,
/// `bybit:BTCUSDT-1m-2024-08.csv`: all its events are then published under the qualified
/// market (`bybit:BTCUSDT`) only, so two venues' files of one pair stay two markets.
pub fn open_replay_with(
    paths: &[PathBuf],
    symbols: SharedSymbols,
    config: &ReplayConfig,
) -> Result<Box<dyn Feed>, FeedError> {
    let mut sources = paths.iter().map(|path| open_source(path, &symbols, config)).collect::<Result<Vec<_>, _>>()?;
    match sources.len() {
        0 => Err(FeedError::NoInput),
        1 => Ok(sources.remove(0)),
        _ => Ok(Box::new(MergedFeed::new(sources))),
    }
}

/// One file as a keyed source, the parser chosen from its first non-empty line.
fn open_source(
    path: &Path,
    symbols: &SharedSymbols,
    config: &ReplayConfig,
) -> Result<Box<dyn ReplaySource>, FeedError> {
    let (venue, path) = split_venue(path);
    let path = path.as_path();
    let mut probe = LineSource::open(path)?;
    let first = loop {
        match probe.next_line()? {
            Some("") => continue,
            Some(line) => break Some(line.to_owned()),
            None => break None,
        }
    };
    let looks_like_frames = first.as_deref().is_none_or(|line| {
        let after_ts = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        after_ts.starts_with('{')
    });
    if looks_like_frames {
        return Ok(Box::new(WsReplay::open(path, symbols.clone(), config.clone(), venue)?));
    }
    let symbol = venue.map(|v| {
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        format!("{v}:{}", super::csv::symbol_from_file_name(file_name))
    });
    let csv = CsvConfig { skip_bad_lines: config.skip_bad_lines, symbol, ..CsvConfig::default() };
    Ok(Box::new(CsvFeed::open(path, symbols.clone(), csv)?))
}

/// `bybit:path` -> (Bybit, path) when `bybit:path` is not itself an existing file.
fn split_venue(path: &Path) -> (Option<ExchangeId>, PathBuf) {
    if !path.exists()
        && let Some((venue, rest)) = path.to_str().and_then(|p| p.split_once(':'))
        && let Some(ex) = ExchangeId::parse(venue)
    {
        return (Some(ex), PathBuf::from(rest));
    }
    (None, path.to_path_buf())
}

/// Lines of a plain or gzip file, read into one reused buffer.
pub(crate) struct LineSource {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    buf: String,
    line_no: u64,
    unread: bool,
}

impl LineSource {
    /// Open a file; gzip is recognised by its magic bytes, not its name.
    pub(crate) fn open(path: &Path) -> Result<LineSource, FeedError> {
        let io_err = |source| FeedError::Io { path: path.to_path_buf(), source };
        let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
        let gzip = file.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead + Send> =
            if gzip { Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file))) } else { Box::new(file) };
        Ok(LineSource { path: path.to_path_buf(), reader, buf: String::new(), line_no: 0, unread: false })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// One-based number of the line last returned.
    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Hand the line last returned out again on the next call.
    pub(crate) fn unread(&mut self) {
        self.unread = true;
    }

    /// The next line without its line ending; `None` at the end of the file. A line that
    /// is not UTF-8 is a parse error for that line; reading goes on after it.
    pub(crate) fn next_line(&mut self) -> Result<Option<&str>, FeedError> {
        if std::mem::take(&mut self.unread) {
            return Ok(Some(self.buf.trim_end_matches(['\n', '\r'])));
        }
        self.buf.clear();
        self.line_no += 1;
        match self.reader.read_line(&mut self.buf) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(self.buf.trim_end_matches(['\n', '\r']))),
            Err(e) if e.kind() == ErrorKind::InvalidData => Err(FeedError::Parse {
                path: self.path.clone(),
                line: self.line_no,
                reason: "line is not UTF-8".into(),
            }),
            Err(source) => Err(FeedError::Io { path: self.path.clone(), source }),
        }
    }
}

/// Log-and-skip or return a line error, as configured. `Ok(())` means "skipped".
pub(crate) fn handle_bad_line(err: FeedError, skip_bad_lines: bool, skipped: &mut u64) -> Result<(), FeedError> {
    if skip_bad_lines && err.is_bad_input() {
        *skipped += 1;
        tracing::warn!(error = %err, "skipping bad line");
        return Ok(());
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::feeds::{FeedEvent, shared_symbols};
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    const BTC_TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.5","q":"2","T":60000,"m":false,"M":true}}"#;

    fn write(dir: &Path, name: &str, text: &str, gzip: bool) -> PathBuf {
        let path = dir.join(name);
        let mut file = File::create(&path).unwrap();
        if gzip {
            let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(text.as_bytes()).unwrap();
            file.write_all(&enc.finish().unwrap()).unwrap();
        } else {
            file.write_all(text.as_bytes()).unwrap();
        }
        path
    }

    fn drain(feed: &mut dyn Feed) -> Vec<FeedEvent> {
        std::iter::from_fn(|| feed.next_event().unwrap()).collect()
    }

    #[test]
    fn picks_the_parser_from_the_content_not_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("a.gz", format!("123 {BTC_TRADE}\n"), true, false),
            ("a.txt", format!("\n123 {BTC_TRADE}\r\n"), false, false),
            ("bare.json.gz", format!("{BTC_TRADE}\n"), true, false),
            ("BTCUSDT-trades-x.gz", "7,1.5,2,3,60000,false,true\n".into(), true, true),
            (
                "BTCUSDT-trades-y.csv",
                "id,price,qty,quote_qty,time,is_buyer_maker\n7,1.5,2,3,60000,False\n".into(),
                false,
                true,
            ),
        ];
        for (name, text, gzip, on_boundary) in cases {
            let path = write(dir.path(), name, &text, gzip);
            let mut feed = open_replay(&[path], shared_symbols()).unwrap();
            assert_eq!(feed.starts_on_minute_boundary(), on_boundary, "{name}");
            let events = drain(feed.as_mut());
            assert_eq!(events.len(), 1, "{name}: {events:?}");
            let FeedEvent::Trade(t) = events[0] else { panic!("{name}: {events:?}") };
            assert_eq!((t.time_ms, t.trade_id, t.buyer_maker, t.price * t.qty), (60000, 7, false, 3.into()), "{name}");
        }
    }

    #[test]
    fn bad_lines_name_file_and_line_and_can_be_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "rec.gz", &format!("1 {BTC_TRADE}\n2 {{oops\n3 {BTC_TRADE}\n"), true);
        let mut feed = open_replay(std::slice::from_ref(&path), shared_symbols()).unwrap();
        assert!(feed.next_event().unwrap().is_some());
        let err = feed.next_event().unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}:2: ", path.display())), "{err}");
        assert!(feed.next_event().unwrap().is_some(), "the caller may go on after an error");
        let config = ReplayConfig { skip_bad_lines: true, ..ReplayConfig::default() };
        let mut feed = open_replay_with(&[path], shared_symbols(), &config).unwrap();
        assert_eq!(drain(feed.as_mut()).len(), 2);
    }

    #[test]
    fn missing_files_and_empty_lists_are_errors() {
        assert!(matches!(open_replay(&[], shared_symbols()), Err(FeedError::NoInput)));
        let missing = PathBuf::from("/nonexistent/x.gz");
        assert!(matches!(open_replay(&[missing], shared_symbols()), Err(FeedError::Io { .. })));
    }
}
