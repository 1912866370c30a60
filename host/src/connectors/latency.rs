//! An opt-in probe for the tick-to-order benchmark: the time from a WebSocket frame's
//! arrival (`ws.rs`) to the signed order request being handed to the HTTP client
//! (`rest.rs`). Off by default; when off each hook is one relaxed atomic load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
static LAST_FRAME: Mutex<Option<Instant>> = Mutex::new(None);
static SAMPLES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
static STAGES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

/// An intermediate point on the way from the frame to the order (time since the frame).
pub fn stage(name: &'static str) {
    if ON.load(Ordering::Relaxed) {
        let at = *LAST_FRAME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = at {
            STAGES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((name, at.elapsed()));
        }
    }
}

/// The intermediate points so far (and clear them).
pub fn take_stages() -> Vec<(&'static str, Duration)> {
    std::mem::take(&mut *STAGES.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// Start collecting samples.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// A frame arrived.
pub fn frame_received() {
    if ON.load(Ordering::Relaxed) {
        *LAST_FRAME.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }
}

/// A signed order request is about to be written: one sample since the last frame.
pub fn order_signed() {
    if ON.load(Ordering::Relaxed) {
        let at = LAST_FRAME.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(at) = at {
            SAMPLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(at.elapsed());
        }
    }
}

/// The samples so far (and clear them).
pub fn take_samples() -> Vec<Duration> {
    std::mem::take(&mut *SAMPLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}
