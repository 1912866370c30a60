//! Pacing of a replay: maps event time onto wall time at a chosen speed.
//!
//! The pacer only ever sleeps the calling thread; it never changes an event, so a paced
//! replay decides exactly as an unpaced one.

use std::time::{Duration, Instant};

/// Sleeps the calling thread so that event times map to wall time at `speed`
/// (0 = as fast as possible, 1 = real time, 10 = ten times faster).
#[derive(Debug, Clone)]
pub struct Pacer {
    speed: f64,
    anchor: Option<(Instant, i64)>,
}

impl Pacer {
    /// A pacer at `speed`; zero, negative or non-finite speeds never sleep.
    pub fn new(speed: f64) -> Pacer {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 0.0 };
        Pacer { speed, anchor: None }
    }

    /// Block until the wall clock has caught up with `event_ms`. The first call anchors
    /// event time to the current instant.
    pub fn pace(&mut self, event_ms: i64) {
        if let Some(wait) = self.delay(event_ms, Instant::now()) {
            std::thread::sleep(wait);
        }
    }

    /// How long to wait at wall instant `now` before releasing an event at `event_ms`;
    /// `None` when it is already due. Anchors on the first call.
    pub fn delay(&mut self, event_ms: i64, now: Instant) -> Option<Duration> {
        if self.speed == 0.0 {
            return None;
        }
        let (wall0, event0) = *self.anchor.get_or_insert((now, event_ms));
        let ahead_ms = event_ms.saturating_sub(event0);
        if ahead_ms <= 0 {
            return None;
        }
        // An absurd offset (overflowing a Duration) waits "forever" rather than panicking.
        let wanted = Duration::try_from_secs_f64(ahead_ms as f64 / 1000.0 / self.speed).unwrap_or(Duration::MAX);
        wanted.checked_sub(now.saturating_duration_since(wall0)).filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_scale_with_speed() {
        let t0 = Instant::now();
        let cases = [
            // speed, event offset ms, wall offset ms, expected delay ms
            (1.0, 1000, 0, Some(1000)),
            (1.0, 1000, 400, Some(600)),
            (10.0, 1000, 0, Some(100)),
            (10.0, 1000, 100, None),
            (1.0, -500, 0, None),
            (0.0, 60_000, 0, None),
            (f64::NAN, 60_000, 0, None),
        ];
        for (speed, event_off, wall_off, want) in cases {
            let mut p = Pacer::new(speed);
            assert_eq!(p.delay(1_000_000, t0), None, "first call only anchors");
            let got = p.delay(1_000_000 + event_off, t0 + Duration::from_millis(wall_off));
            let got = got.map(|d| d.as_millis() as i64);
            assert_eq!(got, want, "speed {speed} event +{event_off} wall +{wall_off}");
        }
    }
}
