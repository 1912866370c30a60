//! Requests per minute per API key (or per client address without a key): a fixed
//! one-minute window. Wall-clock time is fine here: this guards the API, it decides
//! nothing about trading.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A per-key limiter.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// At most `per_minute` requests per key per minute (0 = unlimited).
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Count a request at `now`; `Err(retry_after)` when the key is over its limit.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let Ok(mut windows) = self.windows.lock() else { return Ok(()) };
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        let elapsed = now.duration_since(entry.0);
        if elapsed >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(Duration::from_secs(60).saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_resets_each_minute() {
        let rl = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(rl.check("a", t0).is_ok());
        assert!(rl.check("a", t0 + Duration::from_secs(1)).is_ok());
        let wait = rl.check("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(rl.check("b", t0 + Duration::from_secs(10)).is_ok(), "keys are independent");
        assert!(rl.check("a", t0 + Duration::from_secs(60)).is_ok(), "a new window");
        assert!(RateLimiter::new(0).check("a", t0).is_ok(), "0 = unlimited");
    }
}
