//! The seed-003 controls as host risk limits (`[strategy.risk]`): max orders per session,
//! max position size, max daily loss and min balance ratio, checked by the real core loop
//! (through `backtest::run`) on real 1-minute candles with the SMA/EMA strategy.

use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use tradehost::backtest::{self, BacktestSettings};
use tradehost::config::{PluginsConfig, StrategyConfig};
use tradehost::store::TradeRow;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn variant() -> StrategyConfig {
    let cfg = PluginsConfig::load(&root().join("plugins.toml"), &|_| None).unwrap();
    let mut s = cfg.strategies.into_iter().find(|s| s.id == "sma-ema-a").expect("sma-ema-a in plugins.toml");
    s.module = root().join("target/wasm32-unknown-unknown/wasm/sma_ema.wasm");
    assert!(s.module.is_file(), "{} is missing: run `make wasm`", s.module.display());
    s.symbols.retain(|i| i.name == "BTCUSDT");
    s
}

fn run(s: StrategyConfig) -> Vec<TradeRow> {
    let data = root().join("../shared/data/binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    assert!(data.is_file(), "{} is missing (tests read ../shared/data)", data.display());
    let settings =
        BacktestSettings::new(vec![data], PluginsConfig { plugin_dir: root().join("plugins"), strategies: vec![s] });
    backtest::run(&settings).unwrap().remove(0).trades
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn limits_cut_trading_where_they_say() {
    let free = run(variant());
    assert!(free.len() > 20, "the unlimited run trades: {}", free.len());

    // Max orders per session: four entries pass, exits always do; the run keeps exactly
    // the unlimited run's fills up to its fifth entry.
    let mut s = variant();
    s.risk.max_trades_per_session = Some(4);
    let capped = run(s);
    let key = |t: &TradeRow| (t.side.clone(), t.price, t.qty, t.time);
    let fifth_buy = free.iter().enumerate().filter(|(_, t)| t.side == "BUY").nth(4).map(|(i, _)| i).unwrap();
    assert_eq!(capped.iter().filter(|t| t.side == "BUY").count(), 4);
    assert_eq!(capped.iter().map(key).collect::<Vec<_>>(), free[..fifth_buy].iter().map(key).collect::<Vec<_>>());

    // A max position below one order's size: no buy passes, so nothing trades.
    let mut s = variant();
    s.risk.max_position_size = Some(d("0.0005"));
    assert!(run(s).is_empty(), "buys of 0.001 BTC exceed max_position_size 0.0005");

    // Quote balance below the ratio from the start: buys are refused.
    let mut s = variant();
    s.account.balances.insert("USDT".into(), d("10000"));
    s.risk.min_balance_ratio = Some(d("0.9995"));
    let ratio = run(s);
    // Each buy spends ~23 USDT of 10,000 (0.23 %): the first buy passes, then the balance
    // sits below 99.95 % of the start while the position is held, so no second entry can
    // come before a sell brings cash back.
    assert!(ratio.len() < free.len(), "{} fills with the ratio vs {} without", ratio.len(), free.len());

    // Max daily loss zero: after the first losing round trip of a day, no new entry that day.
    let mut s = variant();
    s.risk.max_daily_loss = Some(Decimal::ZERO);
    let no_loss = run(s);
    assert!(no_loss.len() < free.len(), "{} fills with max_daily_loss 0 vs {} without", no_loss.len(), free.len());
    // Independent check: on a day that starts flat, an entry only comes while the day's
    // net PnL so far (realised minus fees; flat between trades, so equity moved by that
    // much) is not negative.
    let mut day = i64::MIN;
    let mut day_pnl = Decimal::ZERO;
    let mut flat_at_day_start = true;
    let mut held = Decimal::ZERO;
    for t in &no_loss {
        let today = t.time.div_euclid(86_400_000);
        if today != day {
            day = today;
            day_pnl = Decimal::ZERO;
            flat_at_day_start = held.is_zero();
        }
        if t.side == "BUY" {
            if flat_at_day_start && held.is_zero() {
                assert!(day_pnl >= Decimal::ZERO, "an entry on day {day} after a net loss of {day_pnl}: {t:?}");
            }
            held += t.qty;
        } else {
            held -= t.qty;
        }
        day_pnl += t.realized_pnl - t.fee;
    }
}
