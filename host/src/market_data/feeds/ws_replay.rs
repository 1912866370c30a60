//! Replay of a recorded Binance WebSocket session: one frame per line, optionally
//! prefixed by the local receive time in ns (`<recv_ts_ns> <frame>`), plain or gzip.

use super::binance_ws::parse_frame;
use super::merge::ReplaySource;
use super::replay::{LineSource, ReplayConfig, handle_bad_line};
use super::{Feed, FeedError, FeedEvent, SharedSymbols, SymbolCache};
use std::path::Path;

/// A recorded Binance WebSocket session as a feed. It joined the market mid-minute, so
/// [`Feed::starts_on_minute_boundary`] is false.
pub(crate) struct WsReplay {
    lines: LineSource,
    symbols: SymbolCache,
    config: ReplayConfig,
    skipped: u64,
    last_key: i64,
}

impl WsReplay {
    /// Open a recording.
    pub(crate) fn open(path: &Path, symbols: SharedSymbols, config: ReplayConfig) -> Result<WsReplay, FeedError> {
        Ok(WsReplay {
            lines: LineSource::open(path)?,
            symbols: SymbolCache::new(symbols),
            config,
            skipped: 0,
            last_key: 0,
        })
    }
}

/// Split `<recv_ts_ns> <frame>`; a line without the prefix is all frame.
fn split_recv_ts(line: &str) -> (Option<i64>, &str) {
    match line.split_once(' ') {
        Some((ts, frame)) if !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()) => (ts.parse().ok(), frame),
        _ => (None, line),
    }
}

impl ReplaySource for WsReplay {
    /// Keyed by receive time when recorded, else by event time (both in ns).
    fn next_keyed(&mut self) -> Result<Option<(i64, FeedEvent)>, FeedError> {
        loop {
            let Some(line) = self.lines.next_line()? else { return Ok(None) };
            if line.trim().is_empty() {
                continue;
            }
            let (recv_ts, frame) = split_recv_ts(line);
            match parse_frame(frame, &mut self.symbols) {
                Ok(Some(event)) => {
                    let event_ns = event.time_ms().map(|ms| ms.saturating_mul(1_000_000));
                    self.last_key = recv_ts.or(event_ns).unwrap_or(self.last_key);
                    return Ok(Some((self.last_key, event)));
                }
                Ok(None) => continue,
                Err(err) => {
                    let err = err.at(self.lines.path(), self.lines.line_no());
                    handle_bad_line(err, self.config.skip_bad_lines, &mut self.skipped)?;
                }
            }
        }
    }
}

impl Feed for WsReplay {
    fn next_event(&mut self) -> Result<Option<FeedEvent>, FeedError> {
        Ok(self.next_keyed()?.map(|(_, event)| event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_receive_time_prefix() {
        let cases = [
            ("1723161253937085768 {\"a\":1}", (Some(1723161253937085768), "{\"a\":1}")),
            ("{\"a\": 1}", (None, "{\"a\": 1}")),
            (" {\"a\":1}", (None, " {\"a\":1}")),
            ("99999999999999999999 {}", (None, "{}")),
        ];
        for (line, want) in cases {
            assert_eq!(split_recv_ts(line), want, "{line}");
        }
    }
}
