//! One WebSocket session of a venue, kept alive: connect (asking the venue's protocol for
//! the URL, so KuCoin can fetch its token first), log in and subscribe, send the venue's
//! heartbeat, and on any failure reconnect with jittered exponential backoff and
//! subscribe again. Trades pass through [`TradeSequences`]: duplicates are dropped, a
//! gap in a contiguous venue's ids is filled over REST before the trade that revealed
//! it, and after a reconnect the trades missed while disconnected are fetched over REST,
//! so candles are never built from a partial minute. With `record`, every text frame is
//! also delivered raw with its receive time.

use super::gaps::{SeqCheck, TradeSequences};
use super::{Connector, ConnectorResult, ExchangeId, PublicTrade, RawFrame, StreamEvent, StreamHandle};
use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Where to connect and how often to send a heartbeat.
#[derive(Debug, Clone)]
pub struct WsTarget {
    /// `wss://...` (or `ws://` for a local fake exchange).
    pub url: String,
    /// Heartbeat interval.
    pub ping_interval: Duration,
}

/// A venue's WebSocket dialect.
#[async_trait]
pub trait WsProtocol: Send + 'static {
    /// The venue.
    fn exchange(&self) -> ExchangeId;
    /// URL and heartbeat for the next connection.
    async fn connect(&mut self) -> ConnectorResult<WsTarget>;
    /// Frames to send right after connecting: login for private channels (signed with
    /// the venue's clock estimate), then every subscription.
    fn on_open(&mut self) -> Vec<String>;
    /// The venue's application-level ping, or None to send a protocol Ping frame.
    fn ping(&mut self) -> Option<String>;
    /// Decode one text frame into `out`; return a frame to send back (a pong), if any.
    /// An `Err` is logged and the frame skipped; the session goes on.
    fn on_text(&mut self, text: &str, out: &mut Vec<StreamEvent>) -> Result<Option<String>, String>;
    /// A frame of the host's own written to a recording before each connection's frames:
    /// what a replay needs to read them that the venue does not send (Gate.io futures'
    /// contract sizes).
    fn record_preamble(&self) -> Option<String> {
        None
    }
    /// True when the venue numbers each symbol's trades contiguously (gaps detectable).
    fn contiguous_trades(&self) -> bool {
        false
    }
}

/// Reconnect timing.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Cap.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_millis(200), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// Delay before reconnect attempt `attempt` (1-based): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so many clients do not reconnect in step.
    pub fn delay(&self, attempt: u32, rand01: f64) -> Duration {
        let exp = self.initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max);
        capped / 2 + capped.mul_f64(rand01.clamp(0.0, 1.0) / 2.0)
    }
}

/// Start a session. `rest` backfills trade gaps; without it gaps are only reported.
pub fn spawn<P: WsProtocol>(protocol: P, rest: Option<Arc<dyn Connector>>, record: bool) -> StreamHandle {
    let (tx, events) = mpsc::channel(65_536);
    let (raw_tx, raw) = if record {
        let (t, r) = mpsc::channel(65_536);
        (Some(t), Some(r))
    } else {
        (None, None)
    };
    let task = tokio::spawn(run(protocol, rest, tx, raw_tx, Backoff::default()));
    StreamHandle { events, raw, task }
}

/// Most pages of 1,000 trades one backfill fetches (a long disconnect on a busy market).
const MAX_PAGES: usize = 20;

struct Session {
    tx: mpsc::Sender<StreamEvent>,
    raw: Option<mpsc::Sender<RawFrame>>,
    seqs: TradeSequences,
    rest: Option<Arc<dyn Connector>>,
    exchange: ExchangeId,
    /// Event time of the last trade delivered, per symbol (to date a catch-up's loss).
    last_ms: std::collections::HashMap<String, i64>,
}

async fn run<P: WsProtocol>(
    mut protocol: P,
    rest: Option<Arc<dyn Connector>>,
    tx: mpsc::Sender<StreamEvent>,
    raw: Option<mpsc::Sender<RawFrame>>,
    backoff: Backoff,
) {
    let exchange = protocol.exchange();
    let seqs = TradeSequences::new(protocol.contiguous_trades());
    let mut s = Session { tx, raw, seqs, rest, exchange, last_ms: Default::default() };
    let mut attempt: u32 = 0;
    let mut connections: u32 = 0;
    let mut rng = seed();
    loop {
        let reason = match connect_and_read(&mut protocol, &mut s, connections, &mut attempt).await {
            Ok(()) => return, // the consumer is gone
            Err(reason) => reason,
        };
        connections += 1;
        if s.tx.send(StreamEvent::Disconnected { reason: reason.clone() }).await.is_err() {
            return;
        }
        attempt += 1;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = backoff.delay(attempt, (rng % 10_000) as f64 / 10_000.0);
        tracing::warn!(%exchange, attempt, delay_ms = delay.as_millis() as u64, %reason, "websocket lost; reconnecting");
        tokio::time::sleep(delay).await;
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    (nanos as u64) | 1
}

/// One connection. `Ok(())` means the consumer went away (stop for good); `Err` is the
/// reason the connection ended (reconnect).
async fn connect_and_read<P: WsProtocol>(
    protocol: &mut P,
    s: &mut Session,
    connections: u32,
    attempt: &mut u32,
) -> Result<(), String> {
    let target = protocol.connect().await.map_err(|e| e.to_string())?;
    // No Nagle: a small frame (a ping, a subscription) goes out at once instead of
    // waiting for the ack of the previous one.
    let connect = tokio_tungstenite::connect_async_with_config(target.url.as_str(), None, true);
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect failed: {e}"))?;
    for frame in protocol.on_open() {
        ws.send(Message::text(frame)).await.map_err(|e| format!("subscribe failed: {e}"))?;
    }
    if let (Some(raw), Some(text)) = (&s.raw, protocol.record_preamble()) {
        let recv_ts_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        if raw.send(RawFrame { recv_ts_ns, text }).await.is_err() {
            return Ok(());
        }
    }
    if s.tx.send(StreamEvent::Connected { attempt: *attempt }).await.is_err() {
        return Ok(());
    }
    if connections > 0 && !s.catch_up().await {
        return Ok(());
    }
    let idle = target.ping_interval * 2 + Duration::from_secs(5);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + target.ping_interval, target.ping_interval);
    let mut out = Vec::new();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                let msg = match protocol.ping() {
                    Some(text) => Message::text(text),
                    None => Message::Ping(Vec::new().into()),
                };
                ws.send(msg).await.map_err(|e| format!("heartbeat failed: {e}"))?;
            }
            frame = tokio::time::timeout(idle, ws.next()) => {
                let frame = match frame {
                    Err(_) => return Err(format!("no frame for {}s", idle.as_secs())),
                    Ok(None) => return Err("closed by the server".into()),
                    Ok(Some(Err(e))) => return Err(format!("read failed: {e}")),
                    Ok(Some(Ok(f))) => f,
                };
                super::latency::frame_received();
                let text = match frame {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => match String::from_utf8(b.to_vec()) {
                        Ok(t) => t,
                        Err(_) => continue,
                    },
                    Message::Close(c) => return Err(format!("closed by the server: {c:?}")),
                    _ => continue,
                };
                *attempt = 0;
                if let Some(raw) = &s.raw {
                    let recv_ts_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
                    if raw.send(RawFrame { recv_ts_ns, text: text.clone() }).await.is_err() {
                        return Ok(());
                    }
                }
                out.clear();
                match protocol.on_text(&text, &mut out) {
                    Ok(Some(reply)) => ws.send(Message::text(reply)).await.map_err(|e| format!("reply failed: {e}"))?,
                    Ok(None) => {}
                    Err(reason) => tracing::warn!(exchange = %s.exchange, %reason, "skipping a frame that does not decode"),
                }
                for ev in out.drain(..) {
                    if !s.deliver(ev).await {
                        return Ok(());
                    }
                }
            }
        }
    }
}

impl Session {
    /// Deliver one event; trades go through the sequence check and gap backfill.
    /// False when the consumer is gone.
    async fn deliver(&mut self, ev: StreamEvent) -> bool {
        let StreamEvent::Trade(trade) = ev else {
            return self.tx.send(ev).await.is_ok();
        };
        match self.seqs.check(&trade.symbol, trade.seq, &trade.trade_id) {
            SeqCheck::Duplicate => return true,
            SeqCheck::InOrder => {}
            SeqCheck::Gap { from, to } => {
                let (fetched, _) = self.fetch(&trade.symbol, Some(from), to).await;
                let recovered = fetched.len();
                for t in fetched {
                    self.seqs.record(&t.symbol, t.seq, &t.trade_id);
                    self.last_ms.insert(t.symbol.clone(), t.time_ms);
                    if self.tx.send(StreamEvent::Trade(t)).await.is_err() {
                        return false;
                    }
                }
                tracing::warn!(exchange = %self.exchange, symbol = %trade.symbol, from, to, recovered, "trade id gap filled over REST");
                let gap = StreamEvent::GapFilled { symbol: trade.symbol.clone(), from, to, recovered };
                if self.tx.send(gap).await.is_err() {
                    return false;
                }
            }
        }
        self.seqs.record(&trade.symbol, trade.seq, &trade.trade_id);
        match self.last_ms.get_mut(&trade.symbol) {
            Some(ms) => *ms = trade.time_ms,
            None => {
                self.last_ms.insert(trade.symbol.clone(), trade.time_ms);
            }
        }
        self.tx.send(StreamEvent::Trade(trade)).await.is_ok()
    }

    /// After a reconnect: fetch each symbol's trades newer than the last one seen.
    async fn catch_up(&mut self) -> bool {
        let seen: Vec<(String, u64)> =
            self.seqs.symbols().into_iter().filter_map(|sym| self.seqs.last(&sym).map(|l| (sym, l))).collect();
        for (symbol, last) in seen {
            // A venue whose sequence is per match may have more trades at the last one.
            let from = if self.seqs.contiguous() { last + 1 } else { last };
            let (fetched, complete) = self.fetch(&symbol, Some(from), u64::MAX).await;
            let after_ms = self.last_ms.get(&symbol).copied();
            // Asked from the last trade seen on: a window that no longer holds it (a venue
            // that returns only its latest trades, after a long disconnect) may have lost
            // trades in between. Binance's ids are contiguous: its gaps are paged in above.
            if let Some(first) = fetched.first().filter(|f| !self.seqs.contiguous() && f.seq > last) {
                let (after_ms, before) = (after_ms.unwrap_or(first.time_ms), (first.seq, first.time_ms));
                if !self.missed(&symbol, (last, after_ms), Some(before)).await {
                    return false;
                }
            }
            let tail = fetched.last().map(|t| (t.seq, t.time_ms));
            for t in fetched {
                if !self.deliver(StreamEvent::Trade(t)).await {
                    return false;
                }
            }
            // A backfill that gave up: whatever followed its last trade may be lost.
            if !complete {
                let after = tail.unwrap_or((last, after_ms.unwrap_or_default()));
                if !self.missed(&symbol, after, None).await {
                    return false;
                }
            }
        }
        true
    }

    /// Report (log and send) trades possibly lost between `after` and `before` (sequence,
    /// time); `None` for `before`: up to the resumed stream. False when the consumer is gone.
    async fn missed(&self, symbol: &str, after: (u64, i64), before: Option<(u64, i64)>) -> bool {
        let (before_seq, before_ms) = (before.map(|b| b.0), before.map(|b| b.1));
        tracing::error!(
            exchange = %self.exchange, %symbol, after_seq = after.0, after_ms = after.1, ?before_seq, ?before_ms,
            "trades may be lost: the catch-up after a reconnect could not fetch them all"
        );
        let ev = StreamEvent::TradesMissed {
            symbol: symbol.to_string(),
            after_seq: after.0,
            after_ms: after.1,
            before_seq,
            before_ms,
        };
        self.tx.send(ev).await.is_ok()
    }

    /// Trades of `symbol` with `from <= seq <= to`, oldest first, over REST: pages of up to
    /// 1,000 from the last one fetched while pages come back full and advance (at most
    /// [`MAX_PAGES`]; three failed requests end it). Venues that cannot start at a
    /// sequence return their most recent trades, which are filtered to the range (a
    /// second page repeats the first and ends the paging).
    async fn fetch(&self, symbol: &str, from: Option<u64>, to: u64) -> (Vec<PublicTrade>, bool) {
        let Some(rest) = &self.rest else { return (Vec::new(), false) };
        let lo = from.unwrap_or(0);
        let mut got: Vec<PublicTrade> = Vec::new();
        let mut next = from;
        let (mut pages, mut failures, mut complete) = (0usize, 0usize, true);
        loop {
            match rest.recent_trades(symbol, next, 1000).await {
                Ok(batch) => {
                    pages += 1;
                    let more = batch.len() >= 1000;
                    let (min_seq, max_seq) = (batch.iter().map(|t| t.seq).min(), batch.iter().map(|t| t.seq).max());
                    got.extend(batch.into_iter().filter(|t| t.seq >= lo && t.seq <= to));
                    // Page on only from a venue that started where it was asked to.
                    let honoured = next.is_none_or(|n| min_seq.is_some_and(|m| m >= n));
                    let Some(m) = max_seq.filter(|m| more && *m < to && honoured) else { break };
                    if pages == MAX_PAGES {
                        tracing::error!(exchange = %self.exchange, %symbol, after_seq = m, pages, "trade backfill stopped at its page limit: later trades may be missing");
                        complete = false;
                        break;
                    }
                    next = Some(m + 1);
                }
                Err(e) => {
                    tracing::warn!(exchange = %self.exchange, %symbol, error = %e, "trade backfill failed");
                    failures += 1;
                    if failures == 3 {
                        complete = false;
                        break;
                    }
                    if let Some(wait) = e.retry_wait() {
                        tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
                    }
                }
            }
        }
        // Stable: trades of one match (same sequence) keep the venue's order.
        got.sort_by_key(|t| t.seq);
        got.dedup_by(|a, b| a.seq == b.seq && a.trade_id == b.trade_id);
        (got, complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_half() {
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(5) };
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(5));
        assert!(b.delay(30, 0.3) >= Duration::from_millis(2500));
    }
}
