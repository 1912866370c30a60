//! Replay of a recorded WebSocket session: one frame per line, optionally prefixed by
//! the local receive time in ns (`<recv_ts_ns> <frame>`), plain or gzip. Binance frames
//! take the fast path of [`parse_frame`]; frames of the other exchanges (`tradehost
//! record --venue gateio|kucoin|bybit`) are recognised by their shape and decoded by
//! their connector's parser.

use super::binance_ws::parse_frame;
use super::merge::ReplaySource;
use super::replay::{LineSource, ReplayConfig, handle_bad_line};
use super::{Feed, FeedError, FeedEvent, SharedSymbols, SymbolCache};
use crate::connectors::ExchangeId;
use crate::market_data::SymbolId;
use std::collections::HashMap;
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
    /// Decoder of the other venues' frames (keeps Gate.io futures' contract sizes).
    frames: crate::connectors::frames::MarketFrames,
    /// (venue, pair) -> the qualified market its events are published under as well.
    markets: HashMap<(ExchangeId, SymbolId), SymbolId>,
    /// The venue the whole file is declared to come from: events go out under the qualified
    /// market only.
    venue: Option<ExchangeId>,
}

impl WsReplay {
    /// Open a recording; `venue` declares where all of it comes from.
    pub(crate) fn open(
        path: &Path,
        symbols: SharedSymbols,
        config: ReplayConfig,
        venue: Option<ExchangeId>,
    ) -> Result<WsReplay, FeedError> {
        let mut cache = SymbolCache::new(symbols);
        let mut markets = HashMap::new();
        for name in &config.markets {
            let Some(info) = crate::market_data::SymbolInfo::parse(name) else { continue };
            let Some(ex) = info.venue().and_then(ExchangeId::parse) else { continue };
            markets.insert((ex, cache.resolve(info.pair())?), cache.resolve(&info.name)?);
        }
        if let Some(v) = venue {
            markets.retain(|(ex, _), _| *ex == v);
        }
        Ok(WsReplay {
            lines: LineSource::open(path)?,
            symbols: cache,
            config,
            skipped: 0,
            last_key: 0,
            pending: std::collections::VecDeque::new(),
            scratch: Vec::new(),
            frames: Default::default(),
            markets,
            venue,
        })
    }

    /// Queue `event` of `venue` under its names: the bare pair (unless the file is declared
    /// to be one venue's) and the qualified market when wanted.
    fn publish(&mut self, key: i64, venue: ExchangeId, event: FeedEvent) {
        let venue = self.venue.unwrap_or(venue);
        let symbol = match &event {
            FeedEvent::Trade(t) => t.symbol,
            FeedEvent::Book(b) => b.symbol,
            FeedEvent::Candle(c) => c.symbol,
            FeedEvent::Clock(_) => return self.pending.push_back((key, event)),
        };
        let mut qualified = self.markets.get(&(venue, symbol)).copied();
        if qualified.is_none()
            && let Some(v) = self.venue
        {
            let name = self.symbols.shared().read().ok().map(|t| format!("{v}:{}", t.name(symbol)));
            qualified = name.and_then(|n| self.symbols.resolve(&n).ok());
            if let Some(q) = qualified {
                self.markets.insert((venue, symbol), q);
            }
        }
        if self.venue.is_none() {
            self.pending.push_back((key, event));
        }
        if let Some(q) = qualified {
            let mut copy = event;
            match &mut copy {
                FeedEvent::Trade(t) => t.symbol = q,
                FeedEvent::Book(b) => b.symbol = q,
                FeedEvent::Candle(c) => c.symbol = q,
                FeedEvent::Clock(_) => {}
            }
            self.pending.push_back((key, copy));
        }
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
                let parsed = self.frames.decode(venue, frame, &mut self.scratch);
                if let Err(reason) = parsed {
                    let err = FeedError::frame(format!("{venue} frame: {reason}"))
                        .at(self.lines.path(), self.lines.line_no());
                    handle_bad_line(err, self.config.skip_bad_lines, &mut self.skipped)?;
                    continue;
                }
                for ev in std::mem::take(&mut self.scratch) {
                    let fe = match ev {
                        crate::connectors::StreamEvent::Trade(t) => {
                            FeedEvent::Trade(t.tick(self.symbols.resolve(&t.symbol)?))
                        }
                        crate::connectors::StreamEvent::Quote(q) => {
                            FeedEvent::Book(q.book(self.symbols.resolve(&q.symbol)?))
                        }
                        _ => continue,
                    };
                    let event_ns = fe.time_ms().map(|ms| ms.saturating_mul(1_000_000));
                    self.last_key = recv_ts.or(event_ns).unwrap_or(self.last_key);
                    self.publish(self.last_key, venue, fe);
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
                    if self.markets.is_empty() && self.venue.is_none() {
                        return Ok(Some((self.last_key, event)));
                    }
                    self.publish(self.last_key, venue, event);
                    if let Some(e) = self.pending.pop_front() {
                        return Ok(Some(e));
                    }
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

    const BINANCE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1672304486870,"s":"BTCUSDT","t":7,"p":"16580.00","q":"0.002","T":1672304486869,"m":true,"M":true}}"#;
    const BYBIT: &str = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}"#;

    /// (symbol name, price) of every trade a recording of both venues replays to.
    fn replay(markets: &[&str], declared: Option<ExchangeId>) -> Vec<(String, String)> {
        let dir = std::env::temp_dir().join(format!("th-wsr-{}-{}", std::process::id(), markets.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("two-venues-{declared:?}.txt"));
        std::fs::write(&path, format!("1 {BYBIT}\n2 {BINANCE}\n")).unwrap();
        let shared = crate::market_data::feeds::shared_symbols();
        let config = ReplayConfig { markets: markets.iter().map(|m| m.to_string()).collect(), ..Default::default() };
        let mut feed = WsReplay::open(&path, shared.clone(), config, declared).unwrap();
        let mut out = Vec::new();
        while let Some(FeedEvent::Trade(t)) = feed.next_event().unwrap() {
            out.push((shared.read().unwrap().name(t.symbol).to_string(), t.price.to_string()));
        }
        out
    }

    #[test]
    fn a_venue_qualified_market_gets_that_venues_frames_only() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(replay(&[], None), pairs(&[("BTCUSDT", "16578.50"), ("BTCUSDT", "16580.00")]));
        assert_eq!(
            replay(&["bybit:BTCUSDT", "binance:BTCUSDT", "kucoin:BTCUSDT"], None),
            pairs(&[
                ("BTCUSDT", "16578.50"),
                ("bybit:BTCUSDT", "16578.50"),
                ("BTCUSDT", "16580.00"),
                ("binance:BTCUSDT", "16580.00"),
            ]),
        );
        // A file declared to be one venue's publishes under that venue's markets only.
        assert_eq!(
            replay(&["bybit:BTCUSDT"], Some(ExchangeId::Gateio)),
            pairs(&[("gateio:BTCUSDT", "16578.50"), ("gateio:BTCUSDT", "16580.00")]),
        );
    }
}
