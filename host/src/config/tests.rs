use super::*;

const GOOD: &str = r#"
version = 1
[defaults.limits]
fuel = 1000000
[[strategy]]
id = "sma-ema-a"
module = "sma_ema.wasm"
symbols = ["BTCUSDT", "eth/usdt"]
env = { stop_loss = "VARIANT_A_SL" }
[strategy.params]
sma_period = 10
stop_loss = 0.15
qty = { BTCUSDT = "0.001", ETHUSDT = "0.01" }
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn parses_and_applies_defaults() {
    let cfg = PluginsConfig::parse(GOOD, Path::new("/cfg/plugins.toml"), &no_env).unwrap();
    assert_eq!(cfg.plugin_dir, PathBuf::from("/cfg/plugins"));
    let s = &cfg.strategies[0];
    assert_eq!(s.module, PathBuf::from("/cfg/plugins/sma_ema.wasm"));
    assert_eq!(s.symbols.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["BTCUSDT", "ETHUSDT"]);
    assert_eq!(s.limits.fuel, 1_000_000);
    assert_eq!(s.limits.deadline_ms, 50);
    assert_eq!(s.account.balances["USDT"], Decimal::from(10_000));
    let get = |k: &str| s.params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("sma_period"), Some("10"));
    assert_eq!(get("stop_loss"), Some("0.15"));
    assert_eq!(get("qty.ETHUSDT"), Some("0.01"));
}

#[test]
fn environment_overrides_params_and_symbols() {
    let env = |k: &str| match k {
        "VARIANT_A_SL" => Some("0.2".to_string()),
        "SYMBOLS" => Some("BTCUSDT".to_string()),
        _ => None,
    };
    let cfg = PluginsConfig::parse(GOOD, Path::new("plugins.toml"), &env).unwrap();
    let s = &cfg.strategies[0];
    assert_eq!(s.symbols.len(), 1);
    assert!(s.params.contains(&("stop_loss".to_string(), "0.2".to_string())));
}

#[test]
fn errors_name_file_entry_and_field() {
    let cases = [
        ("version = 2", "plugins.toml: field `version`: unsupported version 2, this host reads version 1"),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"NOPE\"]",
            "plugins.toml: strategy `a`: field `symbols`: `NOPE` is not a symbol like BTCUSDT",
        ),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\nvenue = \"ftx\"",
            "plugins.toml: strategy `a`: field `venue`: unknown venue `ftx`; use paper, live, binance, gateio, kucoin or bybit",
        ),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"ftx:BTCUSDT\"]",
            "plugins.toml: strategy `a`: field `symbols`: `ftx:BTCUSDT`: unknown venue `ftx`; qualify with binance, gateio, kucoin or bybit",
        ),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"bybit:BTCUSDT\", \"BTCUSDT\"]\nvenue = \"live\"",
            "plugins.toml: strategy `a`: field `symbols`: `BTCUSDT`: with venue = \"live\" every symbol names its exchange, e.g. `binance:BTCUSDT`",
        ),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\n[strategy.limits]\nfuel = 0",
            "plugins.toml: strategy `a`: field `limits.fuel`: must be positive",
        ),
        (
            "version = 1\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\n[[strategy]]\nid = \"a\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]",
            "plugins.toml: strategy `a`: field `id`: duplicate id",
        ),
    ];
    for (text, want) in cases {
        let got = PluginsConfig::parse(text, Path::new("plugins.toml"), &no_env).unwrap_err();
        assert_eq!(got.to_string(), want);
    }
    let unknown = PluginsConfig::parse("version = 1\nbogus = 1", Path::new("p.toml"), &no_env).unwrap_err();
    assert!(unknown.to_string().contains("unknown field `bogus`"), "{unknown}");
}

#[test]
fn venue_qualified_markets_route_orders_to_their_exchange() {
    use crate::connectors::ExchangeId::{Binance, Bybit, Gateio};
    let text = r#"
version = 1
[[strategy]]
id = "arb-paper"
module = "arbitrage.wasm"
symbols = ["binance:BTCUSDT", "Gate:btc/usdt"]
[[strategy]]
id = "arb-live"
module = "arbitrage.wasm"
symbols = ["binance:BTCUSDT", "bybit:BTCUSDT"]
venue = "live"
[[strategy]]
id = "mixed"
module = "sma_ema.wasm"
symbols = ["ETHUSDT", "bybit:ETHUSDT"]
venue = "binance"
"#;
    let cfg = PluginsConfig::parse(text, Path::new("plugins.toml"), &no_env).unwrap();
    let names = |i: usize| cfg.strategies[i].symbols.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(0), ["binance:BTCUSDT", "gateio:BTCUSDT"], "one spelling per exchange");
    let paper = &cfg.strategies[0];
    assert_eq!(paper.exchange_for(&paper.symbols[0]), None, "paper instances trade on paper whatever the market");
    assert!(paper.exchanges().is_empty());
    let live = &cfg.strategies[1];
    assert_eq!(live.symbols.iter().map(|s| live.exchange_for(s)).collect::<Vec<_>>(), [Some(Binance), Some(Bybit)]);
    let mixed = &cfg.strategies[2];
    assert_eq!(mixed.symbols.iter().map(|s| mixed.exchange_for(s)).collect::<Vec<_>>(), [Some(Binance), Some(Bybit)]);
    assert_eq!(cfg.traded_exchanges(), [Binance, Bybit]);
    assert_eq!(cfg.qualified_exchanges(), [Binance, Gateio, Bybit]);
}
