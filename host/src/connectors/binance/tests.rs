//! The connector's WebSocket parser over the real recorded Binance sessions, and the
//! error mapping.

use super::*;
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

fn replay(files: &[&str]) -> (BTreeMap<String, Vec<u64>>, usize, usize) {
    let dir = crate::connectors::binance::data_dir().join("binance-spot-ws");
    let mut proto = MarketStream { url: String::new() };
    let mut ids: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let (mut frames, mut quotes) = (0, 0);
    let mut out = Vec::new();
    for f in files {
        let reader = BufReader::new(GzDecoder::new(std::fs::File::open(dir.join(f)).unwrap()));
        for (n, line) in reader.lines().enumerate() {
            let line = line.unwrap();
            let (_, frame) = line.split_once(' ').unwrap_or_else(|| panic!("{f}:{}: no timestamp", n + 1));
            out.clear();
            let reply = proto.on_text(frame, &mut out).unwrap_or_else(|e| panic!("{f}:{}: {e}", n + 1));
            assert!(reply.is_none());
            frames += 1;
            for ev in out.drain(..) {
                match ev {
                    StreamEvent::Trade(t) => {
                        assert!(t.price > rust_decimal::Decimal::ZERO && t.quantity > rust_decimal::Decimal::ZERO);
                        assert_eq!(t.trade_id, t.seq.to_string());
                        ids.entry(t.symbol).or_default().push(t.seq);
                    }
                    StreamEvent::Quote(q) => {
                        assert!(q.bid <= q.ask, "{q:?}");
                        quotes += 1;
                    }
                    other => panic!("unexpected event {other:?}"),
                }
            }
        }
    }
    (ids, frames, quotes)
}

fn assert_contiguous(ids: &[u64], count: usize, first: u64, last: u64) {
    assert_eq!(ids.len(), count);
    assert_eq!((ids[0], ids[ids.len() - 1]), (first, last));
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "ids are contiguous and in order");
}

#[test]
fn replays_the_btcusdt_recording_with_every_trade() {
    let (ids, frames, quotes) = replay(&["spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz"]);
    assert_eq!(ids.keys().collect::<Vec<_>>(), ["BTCUSDT"]);
    assert_contiguous(&ids["BTCUSDT"], 19_904, 3_735_683_259, 3_735_703_162);
    assert!(frames > 19_904 && quotes > 0);
}

#[test]
fn replays_the_ethusdt_recording_with_every_trade() {
    let (ids, _, quotes) = replay(&["spot_ethusdt_20240808.gz", "spot_ethusdt_20240809.gz"]);
    assert_eq!(ids.keys().collect::<Vec<_>>(), ["ETHUSDT"]);
    assert_contiguous(&ids["ETHUSDT"], 14_515, 1_520_538_925, 1_520_553_439);
    assert!(quotes > 0);
}

#[test]
fn maps_binance_errors() {
    assert_eq!(
        map_error(400, r#"{"code":-2013,"msg":"Order does not exist."}"#),
        ConnectorError::OrderNotFound { exchange: EX }
    );
    assert_eq!(
        map_error(400, r#"{"code":-2011,"msg":"Unknown order sent."}"#),
        ConnectorError::OrderNotFound { exchange: EX }
    );
    for code in [-2014, -2015, -1022] {
        let body = format!(r#"{{"code":{code},"msg":"x"}}"#);
        assert!(matches!(map_error(401, &body), ConnectorError::Auth { .. }), "{code}");
    }
    let dup = map_error(400, r#"{"code":-2010,"msg":"Duplicate order sent."}"#);
    assert!(is_duplicate(&dup));
    let funds = map_error(400, r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#);
    assert!(!is_duplicate(&funds));
    assert!(matches!(&funds, ConnectorError::Rejected { code, .. } if code == "-2010"));
    assert!(
        matches!(map_error(400, r#"{"code":-1013,"msg":"Filter failure: LOT_SIZE"}"#), ConnectorError::Rejected { code, .. } if code == "-1013")
    );
    assert!(matches!(map_error(502, "<html>"), ConnectorError::Network { .. }));
}

#[test]
fn testnet_by_default_and_overrides_are_base_urls() {
    let c = BinanceConnector::new(ConnectorSettings::new(EX)).unwrap();
    assert_eq!(c.rest().base(), TESTNET_REST);
    assert_eq!((c.inner.ws_url.as_str(), c.inner.ws_api_url.as_str()), (TESTNET_WS, TESTNET_WS_API));
    let mut s = ConnectorSettings::new(EX);
    s.testnet = false;
    let c = BinanceConnector::new(s.clone()).unwrap();
    assert_eq!((c.rest().base(), c.inner.ws_url.as_str()), (PROD_REST, PROD_WS));
    s.rest_url = Some("http://127.0.0.1:9/".into());
    s.ws_url = Some("ws://127.0.0.1:9".into());
    let c = BinanceConnector::new(s).unwrap();
    assert_eq!((c.rest().base(), c.inner.ws_url.as_str()), ("http://127.0.0.1:9", "ws://127.0.0.1:9"));
}
