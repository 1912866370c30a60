//! Replay of a recorded WebSocket session: one frame per line, optionally prefixed by
//! the local receive time in ns (`<recv_ts_ns> <frame>`), plain or gzip. Binance frames
//! take the fast path of [`parse_frame`]; frames of the other exchanges (`tradehost
//! record --venue gateio|kucoin|bybit`) are recognised by their shape and decoded by
//! their connector's parser.

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
    /// Events of a multi-event frame (Bybit sends trades in batches) not yet returned.
    pending: std::collections::VecDeque<(i64, FeedEvent)>,
    scratch: Vec<crate::connectors::StreamEvent>,
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
            pending: std::collections::VecDeque::new(),
            scratch: Vec::new(),
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
        if let Some(e) = self.pending.pop_front() {
            return Ok(Some(e));
        }
        loop {
            let Some(line) = self.lines.next_line()? else { return Ok(None) };
            if line.trim().is_empty() {
                continue;
            }
            let (recv_ts, frame) = split_recv_ts(line);
            let venue = crate::connectors::frames::sniff(frame);
            if venue != crate::connectors::ExchangeId::Binance {
                self.scratch.clear();
                let parsed = crate::connectors::frames::market_frame(venue, frame, &mut self.scratch);
                if let Err(reason) = parsed {
                    let err = FeedError::frame(format!("{venue} frame: {reason}"))
                        .at(self.lines.path(), self.lines.line_no());
                    handle_bad_line(err, self.config.skip_bad_lines, &mut self.skipped)?;
                    continue;
                }
                for ev in std::mem::take(&mut self.scratch) {
                    let fe = match ev {
                        crate::connectors::StreamEvent::Trade(t) => FeedEvent::Trade(crate::market_data::Tick {
                            symbol: self.symbols.resolve(&t.symbol)?,
                            time_ms: t.time_ms,
                            price: t.price,
                            qty: t.quantity,
                            trade_id: t.seq,
                            buyer_maker: t.buyer_maker,
                        }),
                        crate::connectors::StreamEvent::Quote(q) => FeedEvent::Book(crate::market_data::BookTicker {
                            symbol: self.symbols.resolve(&q.symbol)?,
                            bid: q.bid,
                            bid_qty: q.bid_qty,
                            ask: q.ask,
                            ask_qty: q.ask_qty,
                        }),
                        _ => continue,
                    };
                    let event_ns = fe.time_ms().map(|ms| ms.saturating_mul(1_000_000));
                    self.last_key = recv_ts.or(event_ns).unwrap_or(self.last_key);
                    self.pending.push_back((self.last_key, fe));
                }
                if let Some(e) = self.pending.pop_front() {
                    return Ok(Some(e));
                }
                continue;
            }
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
