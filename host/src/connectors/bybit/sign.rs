//! Bybit v5 request signing (HMAC-SHA256, lower-case hex).
//!
//! * REST: the string to sign is `timestamp + api_key + recv_window + payload`, where the
//!   payload is the exact query string of a GET (as sent, without `?`) or the exact raw
//!   JSON body of a POST. It travels in `X-BAPI-SIGN`, with `X-BAPI-API-KEY`,
//!   `X-BAPI-TIMESTAMP` (ms) and `X-BAPI-RECV-WINDOW` (ms).
//! * Private WebSocket: `{"op":"auth","args":[api_key, expires, signature]}` with the
//!   signature over `GET/realtime{expires}` (`expires` in ms, in the future).

use crate::connectors::sign::hmac_sha256_hex;

/// The REST string to sign.
pub fn rest_payload(timestamp_ms: i64, api_key: &str, recv_window_ms: u64, query_or_body: &str) -> String {
    format!("{timestamp_ms}{api_key}{recv_window_ms}{query_or_body}")
}

/// `X-BAPI-SIGN` of a REST request.
pub fn rest_signature(
    secret: &str,
    timestamp_ms: i64,
    api_key: &str,
    recv_window_ms: u64,
    query_or_body: &str,
) -> String {
    hmac_sha256_hex(secret, &rest_payload(timestamp_ms, api_key, recv_window_ms, query_or_body))
}

/// The signature of the private WebSocket `auth` op.
pub fn ws_auth_signature(secret: &str, expires_ms: i64) -> String {
    hmac_sha256_hex(secret, &format!("GET/realtime{expires_ms}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "fake-secret-abcdefghijklmnop";
    const KEY: &str = "fake-api-key-0123456789";

    /// Worked examples; the expected values were computed independently with Python:
    ///
    /// ```text
    /// python3 -c 'import hmac,hashlib;print(hmac.new(b"fake-secret-abcdefghijklmnop",
    ///   b"1672211918471fake-api-key-01234567895000category=spot&symbol=BTCUSDT&orderLinkId=spot-test-postonly",
    ///   hashlib.sha256).hexdigest())'
    /// 5afdcae12330ccd781fb1ceb9ec326b3815192f4fbeead5a927f74f749ecdabe
    /// ```
    #[test]
    fn get_signs_timestamp_key_window_and_the_query_string() {
        let query = "category=spot&symbol=BTCUSDT&orderLinkId=spot-test-postonly";
        assert_eq!(
            rest_payload(1672211918471, KEY, 5000, query),
            "1672211918471fake-api-key-01234567895000category=spot&symbol=BTCUSDT&orderLinkId=spot-test-postonly"
        );
        assert_eq!(
            rest_signature(SECRET, 1672211918471, KEY, 5000, query),
            "5afdcae12330ccd781fb1ceb9ec326b3815192f4fbeead5a927f74f749ecdabe"
        );
    }

    /// ```text
    /// python3 -c 'import hmac,hashlib;print(hmac.new(b"fake-secret-abcdefghijklmnop",
    ///   b"1672211918471fake-api-key-01234567895000{\"category\":\"spot\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":\"Limit\",\"qty\":\"0.1\",\"price\":\"15600\",\"timeInForce\":\"PostOnly\",\"orderLinkId\":\"spot-test-postonly\"}",
    ///   hashlib.sha256).hexdigest())'
    /// 8a232cafb9cedfc1c8596f69ead5083fb6f55f4a63a9a74ee22c0c869436b0cd
    /// ```
    #[test]
    fn post_signs_the_raw_json_body() {
        let body = r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"15600","timeInForce":"PostOnly","orderLinkId":"spot-test-postonly"}"#;
        assert_eq!(
            rest_signature(SECRET, 1672211918471, KEY, 5000, body),
            "8a232cafb9cedfc1c8596f69ead5083fb6f55f4a63a9a74ee22c0c869436b0cd"
        );
    }

    /// ```text
    /// python3 -c 'import hmac,hashlib;print(hmac.new(b"fake-secret-abcdefghijklmnop",
    ///   b"GET/realtime1672211928471", hashlib.sha256).hexdigest())'
    /// 1f5369c722ad0c9d543118c571c052619723dcea3448e0872ab8a01c2b712476
    /// ```
    #[test]
    fn websocket_auth_signs_get_realtime_and_the_expiry() {
        assert_eq!(
            ws_auth_signature(SECRET, 1672211928471),
            "1f5369c722ad0c9d543118c571c052619723dcea3448e0872ab8a01c2b712476"
        );
    }
}
