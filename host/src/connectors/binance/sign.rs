//! Binance request signing (HMAC-SHA256, lower-case hex).
//!
//! * REST (`/api/v3/...` SIGNED endpoints): the signature is the HMAC of the exact query
//!   string sent, percent-encoded, in the order sent, with `recvWindow` and `timestamp`
//!   in it; `signature` is appended as the last parameter. The key goes in the
//!   `X-MBX-APIKEY` header, never in the signed text.
//! * WebSocket API (`/ws-api/v3`): every parameter except `signature` (the `apiKey`
//!   included) sorted by name, joined as `k=v&...` with the values as raw UTF-8 (no
//!   percent-encoding).

use crate::connectors::rest::query_string;
use crate::connectors::sign::hmac_sha256_hex;

/// HMAC-SHA256 hex of `payload` with `secret`.
pub fn sign(secret: &str, payload: &str) -> String {
    hmac_sha256_hex(secret, payload)
}

/// The full signed REST query: `params` (percent-encoded, in order), then
/// `recvWindow`, `timestamp`, and `signature` over everything before it.
pub fn signed_query(secret: &str, params: &[(&str, String)], recv_window_ms: u64, timestamp_ms: i64) -> String {
    let mut all: Vec<(&str, String)> = params.to_vec();
    all.push(("recvWindow", recv_window_ms.to_string()));
    all.push(("timestamp", timestamp_ms.to_string()));
    let query = query_string(&all);
    let signature = sign(secret, &query);
    format!("{query}&signature={signature}")
}

/// The WebSocket-API string to sign: parameters sorted by name, raw UTF-8 values.
pub fn ws_api_payload(params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().filter(|(k, _)| *k != "signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Signature of WebSocket-API parameters.
pub fn ws_api_signature(secret: &str, params: &[(&str, String)]) -> String {
    sign(secret, &ws_api_payload(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = crate::connectors::binance::data_dir().join("signatures/official_vectors.json");
        let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        all.into_iter().filter(|v| v["exchange"] == "binance").collect()
    }

    fn vector(id: &str) -> Value {
        vectors().into_iter().find(|v| v["id"] == id).unwrap_or_else(|| panic!("vector {id} missing"))
    }

    const ORDER: [(&str, &str); 6] = [
        ("symbol", ""),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
    ];

    fn rest_params(symbol: &str) -> Vec<(&'static str, String)> {
        ORDER.iter().map(|(k, v)| (*k, if *k == "symbol" { symbol.to_string() } else { v.to_string() })).collect()
    }

    #[test]
    fn every_binance_vector_is_covered() {
        assert_eq!(vectors().len(), 4);
    }

    #[test]
    fn rest_ascii_vector() {
        let v = vector("binance_rest_hmac_ascii");
        let secret = v["secret"].as_str().unwrap();
        let q = signed_query(secret, &rest_params("LTCBTC"), 5000, 1499827319559);
        let (payload, sig) = q.rsplit_once("&signature=").unwrap();
        assert_eq!(payload, v["payload"].as_str().unwrap(), "the query we build is the documented one");
        assert_eq!(sig, v["expected"].as_str().unwrap());
        assert_eq!(sign(secret, v["payload"].as_str().unwrap()), v["expected"].as_str().unwrap());
    }

    #[test]
    fn rest_non_ascii_vector_is_signed_percent_encoded() {
        let v = vector("binance_rest_hmac_nonascii_percent_encoded");
        let secret = v["secret"].as_str().unwrap();
        let q = signed_query(secret, &rest_params("１２３４５６"), 5000, 1499827319559);
        let (payload, sig) = q.rsplit_once("&signature=").unwrap();
        assert_eq!(payload, v["payload"].as_str().unwrap());
        assert_eq!(sig, v["expected"].as_str().unwrap());
    }

    fn ws_params(
        api_key: &str,
        price: &str,
        qty: &str,
        window: &str,
        side: &str,
        symbol: &str,
    ) -> Vec<(&'static str, String)> {
        // Deliberately unsorted: the signer sorts.
        vec![
            ("symbol", symbol.into()),
            ("side", side.into()),
            ("type", "LIMIT".into()),
            ("timeInForce", "GTC".into()),
            ("quantity", qty.into()),
            ("price", price.into()),
            ("recvWindow", window.into()),
            ("timestamp", "1645423376532".into()),
            ("apiKey", api_key.into()),
            ("signature", "ignored".into()),
        ]
    }

    #[test]
    fn ws_api_ascii_vector() {
        let v = vector("binance_wsapi_hmac_ascii");
        let params = ws_params(v["api_key"].as_str().unwrap(), "52000.00", "0.01000000", "100", "SELL", "BTCUSDT");
        assert_eq!(ws_api_payload(&params), v["payload"].as_str().unwrap());
        assert_eq!(ws_api_signature(v["secret"].as_str().unwrap(), &params), v["expected"].as_str().unwrap());
    }

    #[test]
    fn ws_api_non_ascii_vector_is_signed_as_raw_utf8() {
        let v = vector("binance_wsapi_hmac_nonascii_utf8");
        let params =
            ws_params(v["api_key"].as_str().unwrap(), "0.10000000", "1.00000000", "5000", "BUY", "１２３４５６");
        assert_eq!(ws_api_payload(&params), v["payload"].as_str().unwrap());
        assert_eq!(ws_api_signature(v["secret"].as_str().unwrap(), &params), v["expected"].as_str().unwrap());
    }
}
