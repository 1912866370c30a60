//! Record mode: every frame a venue's WebSocket sends, written as `<recv_ts_ns> <frame>`
//! lines (gzip when the file name ends in `.gz`), the format `tradehost replay` reads.
//! Frames are written as received; a newline inside a frame (never sent by the four
//! venues, but legal JSON whitespace) is written as a space so each frame stays one line.

use super::{Connector, StreamEvent, Subscription};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// What a recording wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Frames written.
    pub frames: u64,
    /// Reconnects during the recording.
    pub reconnects: u64,
}

/// Record trades, 1m klines and best bid/ask of `symbols` from `connector` into `path`
/// until `stop` resolves or `max_frames` frames are written.
pub async fn record(
    connector: Arc<dyn Connector>,
    symbols: &[String],
    path: &Path,
    max_frames: Option<u64>,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<RecordStats> {
    let mut subs = Vec::new();
    for s in symbols {
        subs.push(Subscription::Trades(s.clone()));
        subs.push(Subscription::Klines1m(s.clone()));
        subs.push(Subscription::BookTicker(s.clone()));
    }
    let mut handle = connector.stream(subs, true)?;
    let mut raw = handle.raw.take().ok_or_else(|| anyhow::anyhow!("the stream gave no raw frames"))?;
    let file = std::fs::File::create(path).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    let mut out: Box<dyn Write + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::default()))
    } else {
        Box::new(std::io::BufWriter::new(file))
    };
    let mut stats = RecordStats::default();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            ev = handle.events.recv() => match ev {
                Some(StreamEvent::Disconnected { reason }) => {
                    stats.reconnects += 1;
                    tracing::warn!(%reason, "recording: socket lost, reconnecting");
                }
                Some(_) => {}
                None => break,
            },
            frame = raw.recv() => {
                let Some(f) = frame else { break };
                let text = f.text.replace(['\n', '\r'], " ");
                writeln!(out, "{} {}", f.recv_ts_ns, text)?;
                stats.frames += 1;
                if max_frames.is_some_and(|m| stats.frames >= m) {
                    break;
                }
            }
        }
    }
    out.flush()?;
    drop(out);
    Ok(stats)
}
