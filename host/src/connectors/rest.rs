//! The HTTP side every venue shares: one `reqwest` client per connector, a
//! request-weight limiter that waits before the exchange would throttle us, a block
//! that honours `Retry-After` after a 429 (throttled) or 418 (banned) so nothing is sent
//! before it expires, and the server clock offset applied to signed timestamps.

use super::{ConnectorError, ConnectorResult, ExchangeId};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// A request as a venue builds it, signed, ready to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `DELETE`, `PUT`.
    pub method: reqwest::Method,
    /// Path after the base URL, e.g. `/api/v3/order`.
    pub path: String,
    /// Query string without `?` (already encoded, exactly as signed).
    pub query: String,
    /// Body, exactly as signed (empty for none).
    pub body: String,
    /// Content type of the body, if any.
    pub content_type: Option<&'static str>,
    /// Extra headers (keys, signatures, timestamps).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A request with no query, body or headers.
    pub fn new(method: reqwest::Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            query: String::new(),
            body: String::new(),
            content_type: None,
            headers: vec![],
        }
    }

    /// With this query string.
    pub fn query(mut self, query: impl Into<String>) -> Request {
        self.query = query.into();
        self
    }

    /// With this JSON body.
    pub fn json_body(mut self, body: impl Into<String>) -> Request {
        self.body = body.into();
        self.content_type = Some("application/json");
        self
    }

    /// With this form body.
    pub fn form_body(mut self, body: impl Into<String>) -> Request {
        self.body = body.into();
        self.content_type = Some("application/x-www-form-urlencoded");
        self
    }

    /// With a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An HTTP answer that was not a 429/418.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

/// How much a venue lets us send: `capacity` weight units per `window`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Weight allowed per window.
    pub capacity: u32,
    /// Window length.
    pub window: Duration,
}

#[derive(Debug)]
struct Budget {
    window_start: Instant,
    used: u32,
    blocked_until: Option<(Instant, bool)>,
}

/// The shared REST client of one connector.
#[derive(Debug)]
pub struct RestClient {
    exchange: ExchangeId,
    base: String,
    http: reqwest::Client,
    limit: RateLimit,
    budget: Mutex<Budget>,
    offset_ms: AtomicI64,
}

/// Default wait after a 429 or 418 that carries no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

impl RestClient {
    /// A client for `base` (no trailing slash) with this rate limit.
    pub fn new(exchange: ExchangeId, base: &str, limit: RateLimit) -> RestClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("tradehost/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        RestClient {
            exchange,
            base: base.trim_end_matches('/').to_string(),
            http,
            limit,
            budget: Mutex::new(Budget { window_start: Instant::now(), used: 0, blocked_until: None }),
            offset_ms: AtomicI64::new(0),
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Local wall-clock time, ms since the epoch.
    pub fn local_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// The exchange's time as we estimate it: local time plus the measured offset. Signed
    /// timestamps use this so a skewed local clock does not get requests refused.
    pub fn now_ms(&self) -> i64 {
        Self::local_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Server minus local time, ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Record a server time read between `sent_ms` and `received_ms` (local): the offset
    /// is the server time minus the midpoint of the round trip.
    pub fn observe_server_time(&self, server_ms: i64, sent_ms: i64, received_ms: i64) -> i64 {
        let offset = server_ms - (sent_ms + (received_ms - sent_ms) / 2);
        self.offset_ms.store(offset, Ordering::Relaxed);
        offset
    }

    /// When the exchange's block (after a 429/418) ends, if one is in force.
    pub fn blocked_for(&self) -> Option<Duration> {
        let budget = self.budget.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        budget.blocked_until.and_then(|(until, _)| until.checked_duration_since(Instant::now()))
    }

    /// Take `weight` from the budget, waiting for the next window if it is spent. Fails
    /// at once (without sending) while a 429/418 block is in force.
    async fn acquire(&self, weight: u32) -> ConnectorResult<()> {
        loop {
            let wait = {
                let mut b = self.budget.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                if let Some((until, banned)) = b.blocked_until {
                    if until > now {
                        let retry_after = until - now;
                        return Err(if banned {
                            ConnectorError::Banned { exchange: self.exchange, retry_after }
                        } else {
                            ConnectorError::RateLimited { exchange: self.exchange, retry_after }
                        });
                    }
                    b.blocked_until = None;
                }
                if now.duration_since(b.window_start) >= self.limit.window {
                    b.window_start = now;
                    b.used = 0;
                }
                if b.used + weight <= self.limit.capacity || b.used == 0 {
                    b.used += weight;
                    None
                } else {
                    Some(self.limit.window.saturating_sub(now.duration_since(b.window_start)))
                }
            };
            match wait {
                None => return Ok(()),
                Some(d) => {
                    tracing::warn!(exchange = %self.exchange, wait_ms = d.as_millis() as u64, "request weight spent; waiting");
                    tokio::time::sleep(d).await;
                }
            }
        }
    }

    fn block(&self, retry_after: Duration, banned: bool) {
        let mut b = self.budget.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = Instant::now() + retry_after;
        if b.blocked_until.is_none_or(|(u, _)| u < until) {
            b.blocked_until = Some((until, banned));
        }
    }

    /// Send a request built by `build` (called with the exchange-time estimate, for the
    /// timestamp to sign). 429 and 418 become errors and block further requests until
    /// `Retry-After` has passed; any other status is returned for the venue to interpret.
    pub async fn send(&self, weight: u32, build: impl FnOnce(i64) -> Request) -> ConnectorResult<Response> {
        self.acquire(weight).await?;
        let req = build(self.now_ms());
        if req.method == reqwest::Method::POST && req.path.contains("order") {
            super::latency::order_signed();
        }
        let mut url = format!("{}{}", self.base, req.path);
        if !req.query.is_empty() {
            url.push('?');
            url.push_str(&req.query);
        }
        let mut rb = self.http.request(req.method.clone(), &url);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if let Some(ct) = req.content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if !req.body.is_empty() {
            rb = rb.body(req.body.clone());
        }
        let resp = rb.send().await.map_err(|e| self.network(e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.text().await.map_err(|e| self.network(e))?;
        match status {
            429 => {
                let retry_after = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                self.block(retry_after, false);
                tracing::warn!(exchange = %self.exchange, retry_after_s = retry_after.as_secs(), "HTTP 429: backing off");
                Err(ConnectorError::RateLimited { exchange: self.exchange, retry_after })
            }
            418 => {
                let retry_after = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                self.block(retry_after, true);
                tracing::error!(exchange = %self.exchange, retry_after_s = retry_after.as_secs(), "HTTP 418: banned; nothing is sent until it ends");
                Err(ConnectorError::Banned { exchange: self.exchange, retry_after })
            }
            _ => Ok(Response { status, body }),
        }
    }

    fn network(&self, e: reqwest::Error) -> ConnectorError {
        // reqwest's Display does not include headers or bodies, so no key leaks here.
        ConnectorError::Network { exchange: self.exchange, reason: e.without_url().to_string() }
    }

    /// A decode error of this exchange.
    pub fn decode(&self, reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Decode { exchange: self.exchange, reason: reason.into() }
    }
}

/// Percent-encode a query value the way every venue expects (RFC 3986 unreserved
/// characters kept, everything else `%XX`, UTF-8).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `k1=v1&k2=v2` with values percent-encoded, in the given order.
pub fn query_string(params: &[(&str, String)]) -> String {
    params.iter().map(|(k, v)| format!("{k}={}", encode_component(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_binance_non_ascii_example() {
        assert_eq!(encode_component("１２３４５６"), "%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96");
        assert_eq!(query_string(&[("a", "x y".into()), ("b", "0.1".into())]), "a=x%20y&b=0.1");
    }

    #[test]
    fn clock_offset_is_measured_from_the_round_trip_midpoint() {
        let c = RestClient::new(
            ExchangeId::Binance,
            "http://127.0.0.1:1",
            RateLimit { capacity: 10, window: Duration::from_secs(60) },
        );
        assert_eq!(c.observe_server_time(10_500, 1_000, 1_200), 9_400);
        assert!((c.now_ms() - RestClient::local_ms() - 9_400).abs() <= 1);
    }

    #[tokio::test]
    async fn a_block_fails_requests_without_sending_until_it_ends() {
        let c = RestClient::new(
            ExchangeId::Bybit,
            "http://127.0.0.1:1",
            RateLimit { capacity: 10, window: Duration::from_secs(60) },
        );
        c.block(Duration::from_secs(30), true);
        let err = c.send(1, |_| Request::new(reqwest::Method::GET, "/x")).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Banned { retry_after, .. } if retry_after > Duration::from_secs(28)));
        assert!(c.blocked_for().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn spent_weight_waits_for_the_next_window() {
        let c = RestClient::new(
            ExchangeId::Gateio,
            "http://127.0.0.1:1",
            RateLimit { capacity: 3, window: Duration::from_secs(10) },
        );
        let start = tokio::time::Instant::now();
        c.acquire(2).await.unwrap();
        c.acquire(1).await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        c.acquire(1).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_secs(9),
            "the fourth unit waited for the window: {:?}",
            start.elapsed()
        );
    }
}
