//! HMAC helpers shared by the venues. Each venue's string-to-sign lives in its own
//! `sign.rs`; these only compute the MAC.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// HMAC-SHA256 of `payload`, lower-case hex (Binance, Bybit).
pub fn hmac_sha256_hex(secret: &str, payload: &str) -> String {
    hex::encode(hmac_sha256(secret, payload))
}

/// HMAC-SHA256 of `payload`, standard base64 (KuCoin).
pub fn hmac_sha256_base64(secret: &str, payload: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret, payload))
}

/// HMAC-SHA512 of `payload`, lower-case hex (Gate.io).
pub fn hmac_sha512_hex(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// SHA-512 of `body`, lower-case hex (Gate.io's hashed payload; the empty body too).
pub fn sha512_hex(body: &str) -> String {
    hex::encode(Sha512::digest(body.as_bytes()))
}

fn hmac_sha256(secret: &str, payload: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time comparison of two signatures (for the fake exchanges' verification).
pub fn same_signature(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe"), the reference vectors for HMAC-SHA256/512.
    #[test]
    fn rfc4231_case_2() {
        let data = "what do ya want for nothing?";
        assert_eq!(hmac_sha256_hex("Jefe", data), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(
            hmac_sha512_hex("Jefe", data),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(
            sha512_hex(""),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
    }
}
