//! Gate.io APIv4 signing.
//!
//! REST: the headers `KEY`, `Timestamp` (seconds) and `SIGN`, where `SIGN` is the
//! lower-case hex HMAC-SHA512, keyed with the secret, of
//!
//! ```text
//! METHOD \n /api/v4/path \n query_string \n hex(SHA512(body)) \n timestamp
//! ```
//!
//! The path includes the `/api/v4` prefix, the query string is exactly as sent (without
//! `?`, empty when there is none) and the body hash is that of the empty string for
//! requests without a body.
//!
//! WebSocket v4: a private subscription carries `auth: {method: "api_key", KEY, SIGN}`
//! with `SIGN` = hex HMAC-SHA512 of `channel={channel}&event={event}&time={time}` (time in
//! seconds, the same as the request's `time` field).

use crate::connectors::sign::{hmac_sha512_hex, sha512_hex};

/// The REST string to sign.
pub fn rest_payload(method: &str, path: &str, query: &str, body: &str, timestamp_s: i64) -> String {
    format!("{method}\n{path}\n{query}\n{}\n{timestamp_s}", sha512_hex(body))
}

/// The REST `SIGN` header.
pub fn sign_rest(secret: &str, method: &str, path: &str, query: &str, body: &str, timestamp_s: i64) -> String {
    hmac_sha512_hex(secret, &rest_payload(method, path, query, body, timestamp_s))
}

/// The WebSocket `auth.SIGN` of a private channel request.
pub fn sign_ws(secret: &str, channel: &str, event: &str, time_s: i64) -> String {
    hmac_sha512_hex(secret, &format!("channel={channel}&event={event}&time={time_s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The expected values were computed independently with Python's hmac/hashlib:
    //
    // python3 -c "
    // import hmac,hashlib
    // body='{\"currency_pair\":\"BTC_USDT\",\"side\":\"buy\",\"amount\":\"0.001\"}'
    // s='POST\n/api/v4/spot/orders\n\n'+hashlib.sha512(body.encode()).hexdigest()+'\n1700000000'
    // print(hmac.new(b'gate-test-secret',s.encode(),hashlib.sha512).hexdigest())
    // s2='GET\n/api/v4/spot/my_trades\ncurrency_pair=BTC_USDT&limit=10\n'+hashlib.sha512(b'').hexdigest()+'\n1700000000'
    // print(hmac.new(b'gate-test-secret',s2.encode(),hashlib.sha512).hexdigest())
    // print(hmac.new(b'gate-test-secret',b'channel=spot.orders&event=subscribe&time=1700000000',hashlib.sha512).hexdigest())"

    #[test]
    fn rest_post_with_body_matches_python_hmac() {
        let body = r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.001"}"#;
        assert_eq!(
            sign_rest("gate-test-secret", "POST", "/api/v4/spot/orders", "", body, 1_700_000_000),
            "a4253a71fb5b419cfdb6f82f1e6d2dc40c44f55480d63326c7be5ebd1ba67a9333aafa4e61630e79b7047a4ee56fa8e33150774dadcfdc1cb2db1107712c6ac5"
        );
    }

    #[test]
    fn rest_get_with_query_and_empty_body_matches_python_hmac() {
        let payload =
            rest_payload("GET", "/api/v4/spot/my_trades", "currency_pair=BTC_USDT&limit=10", "", 1_700_000_000);
        assert!(payload.starts_with("GET\n/api/v4/spot/my_trades\ncurrency_pair=BTC_USDT&limit=10\ncf83e135"));
        assert!(payload.ends_with("927da3e\n1700000000"));
        assert_eq!(
            sign_rest(
                "gate-test-secret",
                "GET",
                "/api/v4/spot/my_trades",
                "currency_pair=BTC_USDT&limit=10",
                "",
                1_700_000_000
            ),
            "5ce746be92311375bb9c771791542b49db9481c5cb35f5830c522f8ff33c9dad8978eb812efe328f0f77b757b2832d03a2ea93574794179e1dd4207bbb23edfc"
        );
    }

    #[test]
    fn websocket_auth_matches_python_hmac() {
        assert_eq!(
            sign_ws("gate-test-secret", "spot.orders", "subscribe", 1_700_000_000),
            "1f0a8bf2b514e5ed31bbcc3dff91861117bc2b0a23ac4fcf75aa25d7603a2ff0c99a9ecb46813ec38ee1010a0c8c543dc59b9a8801ff1b6ee49a38de4c32ce3b"
        );
    }
}
