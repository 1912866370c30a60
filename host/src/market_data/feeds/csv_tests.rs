//! Tests of the CSV feed, on real data.binance.vision and Binance.US files and on
//! hand-written rows.

use super::*;
use crate::market_data::feeds::shared_symbols;
use crate::market_data::feeds::tests_real_data::data_dir;
use std::path::PathBuf;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn candles(path: &Path, symbols: &SharedSymbols) -> Vec<Candle> {
    let mut feed = CsvFeed::open(path, symbols.clone(), CsvConfig::default()).unwrap();
    assert!(feed.starts_on_minute_boundary());
    std::iter::from_fn(|| feed.next_event().unwrap())
        .map(|event| match event {
            FeedEvent::Candle(c) => c,
            other => panic!("{}: not a candle: {other:?}", path.display()),
        })
        .collect()
}

#[test]
fn names_symbol_and_kind_from_the_file_name() {
    let cases = [
        ("BTCUSDT-trades-2024-01-01.csv", "BTCUSDT", Some(CsvKind::Trades)),
        ("BTCUSDT-aggTrades-2024-01-01.zip.csv", "BTCUSDT", Some(CsvKind::AggTrades)),
        ("ADABTC-1m-2021-11-27.csv", "ADABTC", Some(CsvKind::Klines)),
        ("BTCUSDT_klines_1m_2020-05-06_0442-0541.csv", "BTCUSDT", Some(CsvKind::Klines)),
        ("1000SHIBUSDT-trades-2024-01-01.csv", "1000SHIBUSDT", Some(CsvKind::Trades)),
        ("BTCUSDT_1m_20230301_20230321.csv", "BTCUSDT", None),
        ("data.csv", "", None),
    ];
    for (name, symbol, kind) in cases {
        assert_eq!(symbol_from_file_name(name), symbol, "{name}");
        assert_eq!(kind_from_file_name(name), kind, "{name}");
    }
}

#[test]
fn guesses_the_kind_from_the_columns() {
    let cases = [
        ("1,2,3,4,5,6,7,8,9,10,11,12", None, Some(CsvKind::Klines)),
        ("1,2,3,4,5,6,true,true", None, Some(CsvKind::AggTrades)),
        ("1,2,3,4,5,true,true", None, Some(CsvKind::Trades)),
        ("1,2,3,4,5,true", None, Some(CsvKind::Trades)),
        ("2023-03-01 00:00:00+00:00,1,2,3,4,5", None, Some(CsvKind::Ohlcv)),
        ("1677628800000,1,2,3,4,5", Some("open_time,open,high,low,close,volume"), Some(CsvKind::Ohlcv)),
        ("1,2,3", None, None),
    ];
    for (line, header, want) in cases {
        assert_eq!(kind_from_columns(line, header.map(String::from)), want, "{line}");
    }
}

#[test]
fn reads_real_kline_files_exactly() {
    let dir = data_dir().join("binance-klines");
    let symbols = shared_symbols();
    let ada = candles(&dir.join("ADABTC-1m-2021-11-27.csv"), &symbols);
    assert_eq!(ada.len(), 10);
    let ada_id = symbols.read().unwrap().get("ADABTC").unwrap();
    // 1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,1.03547608,79,19523.00000000,0.55694227,0
    let want = Candle {
        symbol: ada_id,
        open_time_ms: 1_637_971_200_000,
        close_time_ms: 1_637_971_259_999,
        open: dec("0.00002853"),
        high: dec("0.00002854"),
        low: dec("0.00002851"),
        close: dec("0.00002854"),
        volume: dec("36304.2"),
        quote_volume: dec("1.03547608"),
        trades: 79,
        taker_buy_base: dec("19523"),
        taker_buy_quote: dec("0.55694227"),
    };
    assert_eq!(ada[0], want);
    assert_eq!(candles(&dir.join("ADABTC-1m-2021-11-28.csv"), &symbols).len(), 11);

    let btc = candles(&dir.join("BTCUSDT_klines_1m_2020-05-06_0442-0541.csv"), &symbols);
    assert_eq!(btc.len(), 60, "the header line is not a candle");
    let last = btc[59];
    // 1588743660000,9021.32000000,9024.06000000,9016.00000000,9016.01000000,16.88851600,1588743719999,152333.24938438,194,11.62854600,104888.25866399,0
    assert_eq!(symbols.read().unwrap().name(last.symbol), "BTCUSDT");
    assert_eq!((last.open_time_ms, last.close_time_ms, last.trades), (1_588_743_660_000, 1_588_743_719_999, 194));
    assert_eq!(
        [last.open, last.high, last.low, last.close],
        [dec("9021.32"), dec("9024.06"), dec("9016"), dec("9016.01")]
    );
    assert_eq!([last.volume, last.quote_volume], [dec("16.888516"), dec("152333.24938438")]);
    assert_eq!([last.taker_buy_base, last.taker_buy_quote], [dec("11.628546"), dec("104888.25866399")]);
    for pair in btc.windows(2) {
        assert_eq!(pair[1].open_time_ms - pair[0].open_time_ms, MINUTE_MS);
    }
}

#[test]
fn reads_the_binance_us_ohlcv_file() {
    let path = data_dir().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    let all = candles(&path, &shared_symbols());
    assert_eq!(all.len(), 30_240);
    assert!(all.windows(2).all(|p| p[1].open_time_ms - p[0].open_time_ms == MINUTE_MS), "gap-free");
    // 2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777
    let first = all[0];
    assert_eq!((first.open_time_ms, first.close_time_ms), (1_677_628_800_000, 1_677_628_859_999));
    assert_eq!(
        [first.open, first.high, first.low, first.close],
        [dec("23140.48"), dec("23150.77"), dec("23128.52"), dec("23142.31")]
    );
    assert_eq!(first.volume, dec("2.131777"));
    // 2023-03-11 10:14:00+00:00,20081.61,20081.61,20081.61,20081.61,9e-05
    let tiny = all.iter().find(|c| c.open_time_ms == 1_678_529_640_000).unwrap();
    assert_eq!((tiny.close, tiny.volume), (dec("20081.61"), dec("0.00009")));
}

#[test]
fn the_ohlcv_fast_path_reads_rows_as_the_general_parser_does() {
    // Every row of the real file: where the fast path takes a row, it gives what the
    // general parser gives (scale included); the rows it leaves go to the general parser.
    let path = data_dir().join("binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut fast = 0;
    let general = |line: &str| match parse_row(CsvKind::Ohlcv, SymbolId(3), line) {
        Ok(FeedEvent::Candle(c)) => Some(c),
        _ => None,
    };
    for line in text.lines().skip(1) {
        if let Some(c) = fast_ohlcv(SymbolId(3), line) {
            let g = general(line).unwrap();
            assert_eq!(c, g, "{line}");
            let scales = |c: &Candle| [c.open, c.high, c.low, c.close, c.volume].map(|d| d.scale());
            assert_eq!(scales(&c), scales(&g), "{line}");
            fast += 1;
        }
    }
    assert!(fast > 30_000, "the usual rows take the fast path: {fast}");
    for line in [
        "2023-03-01T00:00:00Z,1.5,2,1,1.50,3",
        "2023-03-01 00:01:00,100,100.5,99.25,100.0,0.001",
        "2023-03-01 00:00:00+00:00,-1.5,2,1,1.5,3",
    ] {
        let c = fast_ohlcv(SymbolId(3), line).unwrap_or_else(|| panic!("{line} takes the fast path"));
        assert_eq!(Some(c), general(line), "{line}");
    }
    for line in [
        "2023-03-01 00:00:00+00:00, 1.5,2,1,1.5,3",
        "2023-03-01 00:00:00+00:00,1.5,2,1,1.5",
        "2023-03-01 00:00:00+00:00,1.5,2,1,1.5,3,4",
        "2023-03-01 00:00:00+00:00,1.5,2,1,1.5,9e-05",
        "1677628800000,1.5,2,1,1.5,3",
        "2023-03-01 00:00:00+01:00,1.5,2,1,1.5,3",
        "2023-02-30 00:00:00,1.5,2,1,1.5,3",
        "",
    ] {
        assert_eq!(fast_ohlcv(SymbolId(3), line), None, "{line:?} goes to the general parser");
    }
}

fn write_csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn reads_trades_and_agg_trades_in_ms_and_us() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("BTCUSDT-trades-2024-01-01.csv", "3,42000.5,0.001,42.0005,1704067200000,true,true\n"),
        ("BTCUSDT-trades-2025-01-01.csv", "3,42000.5,0.001,42.0005,1704067200000000,True\n"),
        (
            "BTCUSDT-aggTrades-2025-01-01.csv",
            "agg_id,price,qty,first_id,last_id,time,is_buyer_maker,is_best_match\n3,42000.5,0.001,10,12,1704067200000123,true,true\n",
        ),
    ];
    for (name, text) in cases {
        let symbols = shared_symbols();
        let mut feed = CsvFeed::open(&write_csv(dir.path(), name, text), symbols, CsvConfig::default()).unwrap();
        let got = feed.next_event().unwrap();
        let want = Tick {
            symbol: SymbolId(0),
            time_ms: 1_704_067_200_000,
            price: dec("42000.5"),
            qty: dec("0.001"),
            trade_id: 3,
            buyer_maker: true,
        };
        assert_eq!(got, Some(FeedEvent::Trade(want)), "{name}");
        assert_eq!(feed.next_event().unwrap(), None, "{name}");
    }
}

#[test]
fn bad_rows_name_the_line_and_overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(
        dir.path(),
        "fills.csv",
        "1,2,3,4,1704067200000,false\n2,x,3,4,1704067200000,false\n3,2,3,4,5,maybe\n1,2\n",
    );
    assert!(matches!(
        CsvFeed::open(&path, shared_symbols(), CsvConfig::default()),
        Err(FeedError::UnknownFormat { .. })
    ));
    let config = CsvConfig { symbol: Some("ethusdt".into()), ..CsvConfig::default() };
    let mut feed = CsvFeed::open(&path, shared_symbols(), config.clone()).unwrap();
    assert_eq!(feed.kind(), CsvKind::Trades);
    assert!(feed.next_event().unwrap().is_some());
    for line in 2..=4 {
        let err = feed.next_event().unwrap_err();
        assert!(matches!(err, FeedError::Parse { line: l, .. } if l == line), "{err}");
    }
    let config = CsvConfig { skip_bad_lines: true, kind: Some(CsvKind::Trades), ..config };
    let mut feed = CsvFeed::open(&path, shared_symbols(), config).unwrap();
    assert!(feed.next_event().unwrap().is_some());
    assert_eq!(feed.next_event().unwrap(), None);
    assert_eq!(feed.skipped_lines(), 3);
}
