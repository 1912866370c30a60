//! Every strategy as a `.wasm` through the host (the real core loop, via `backtest::run`)
//! on real 1-minute candles produces exactly the fills its native build produces when a
//! deliberately small native loop drives it over the same candles and the same paper
//! venue: the sandbox, the contract and the decimal conversions change nothing.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tradehost::backtest::{self, BacktestSettings};
use tradehost::config::{PluginsConfig, StrategyConfig};
use tradehost::execution::{Account, Fill, Order, OrderKind, OrderStatus, PaperVenue, Side, Venue, risk};
use tradehost::market_data::feeds::{self, FeedEvent};
use tradehost::market_data::{Candle, SymbolId, SymbolInfo};
use tradehost_sdk::testing::MockHost;
use tradehost_sdk::{Ctx, InitContext, Intent, Params, Strategy};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data() -> PathBuf {
    let p = root().join("../shared/data/binance-us-1m/BTCUSDT_1m_20230301_20230321.csv");
    assert!(p.is_file(), "{} is missing (tests read ../shared/data)", p.display());
    p
}

/// The "-a" variant of each strategy in the shipped plugins.toml, on the built `.wasm`.
fn variant(id: &str) -> StrategyConfig {
    let cfg = PluginsConfig::load(&root().join("plugins.toml"), &|_| None).unwrap();
    let mut s = cfg.strategies.into_iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} not in plugins.toml"));
    let file = s.module.file_name().unwrap().to_owned();
    s.module = root().join("target/wasm32-unknown-unknown/wasm").join(file);
    assert!(s.module.is_file(), "{} is missing: run `make wasm`", s.module.display());
    s
}

type FillKey = (u64, &'static str, Decimal, Decimal, i64);

fn key(f: &Fill) -> FillKey {
    (f.order_id, f.side.as_str(), f.price, f.qty, f.time_ms)
}

fn wasm_fills(s: &StrategyConfig) -> Vec<FillKey> {
    let settings = BacktestSettings::new(
        vec![data()],
        PluginsConfig { plugin_dir: root().join("plugins"), strategies: vec![s.clone()] },
    );
    let result = backtest::run(&settings).unwrap();
    result[0]
        .trades
        .iter()
        .map(|t| {
            let side = if t.side == "BUY" { "BUY" } else { "SELL" };
            (t.order_id as u64, side, t.price, t.qty, t.time)
        })
        .collect()
}

/// A small native twin of the core loop's candle path.
struct Twin<S> {
    strategy: S,
    cfg: StrategyConfig,
    venue: PaperVenue,
    infos: Vec<SymbolInfo>,
    last: BTreeMap<u32, Decimal>,
    next_id: u64,
    now: i64,
    fills: Vec<FillKey>,
}

impl<S: Strategy> Twin<S> {
    fn new(cfg: StrategyConfig) -> Self {
        let ctx = InitContext {
            instance: cfg.id.clone(),
            symbols: cfg
                .symbols
                .iter()
                .enumerate()
                .map(|(i, s)| tradehost_sdk::SymbolInfo {
                    id: i as u32,
                    name: s.name.clone(),
                    base: s.base.clone(),
                    quote: s.quote.clone(),
                })
                .collect(),
            params: Params::new(cfg.params.iter().cloned()),
        };
        let (strategy, _) = S::init(&ctx).unwrap();
        let mut venue = PaperVenue::default();
        venue.open_account(&cfg.id, Account::new(cfg.account.balances.clone(), cfg.account.taker_fee));
        venue.set_bar_mode(true);
        Twin {
            strategy,
            infos: cfg.symbols.clone(),
            cfg,
            venue,
            last: BTreeMap::new(),
            next_id: 1,
            now: 0,
            fills: Vec::new(),
        }
    }

    fn host(&self) -> MockHost {
        let mut h = MockHost::default();
        if let Some(acc) = self.venue.account(&self.cfg.id) {
            for (sym, p) in &acc.positions {
                h.positions.insert(sym.0, p.qty);
                if !p.qty.is_zero() {
                    h.entry_prices.insert(sym.0, p.avg_price);
                }
            }
            h.balances = acc.balances.iter().map(|(k, v)| (k.clone(), *v)).collect();
        }
        h.last_prices = self.last.iter().map(|(k, v)| (*k, *v)).collect();
        h.open_orders = self
            .venue
            .open_orders()
            .iter()
            .map(|o| tradehost_sdk::OpenOrder {
                id: o.id,
                symbol: o.symbol.0,
                side: if o.side == Side::Buy { tradehost_sdk::Side::Buy } else { tradehost_sdk::Side::Sell },
                kind: match o.kind {
                    OrderKind::Market => tradehost_sdk::OrderKind::Market,
                    OrderKind::Limit(p) => tradehost_sdk::OrderKind::Limit(p),
                    OrderKind::StopMarket(p) => tradehost_sdk::OrderKind::StopMarket(p),
                },
                qty: o.qty,
                filled: o.filled,
            })
            .collect();
        h
    }

    fn call(&mut self, depth: u8, f: impl FnOnce(&mut S, &mut Ctx)) {
        let host = self.host();
        let mut ctx = Ctx::new(&host);
        f(&mut self.strategy, &mut ctx);
        for intent in ctx.take_intents() {
            match intent {
                Intent::Signal(_) => {}
                Intent::Cancel(id) => {
                    if self.venue.open_orders().iter().any(|o| o.id == id) {
                        self.venue.cancel(id);
                    }
                }
                Intent::Place(req) => {
                    let mut order = Order {
                        id: self.next_id,
                        instance: self.cfg.id.clone(),
                        symbol: SymbolId(req.symbol),
                        side: if req.side == tradehost_sdk::Side::Buy { Side::Buy } else { Side::Sell },
                        kind: match req.kind {
                            tradehost_sdk::OrderKind::Market => OrderKind::Market,
                            tradehost_sdk::OrderKind::Limit(p) => OrderKind::Limit(p),
                            tradehost_sdk::OrderKind::StopMarket(p) => OrderKind::StopMarket(p),
                        },
                        qty: req.qty,
                        filled: Decimal::ZERO,
                        status: OrderStatus::New,
                        reason: None,
                        tag: req.tag,
                        time_ms: self.now,
                    };
                    self.next_id += 1;
                    let last = self.last.get(&req.symbol).copied();
                    let ok = (req.symbol as usize) < self.infos.len()
                        && risk::check(&order, &self.cfg.risk, self.venue.account(&self.cfg.id), last).is_ok();
                    if ok {
                        let info = self.infos[req.symbol as usize].clone();
                        let fills = self.venue.submit(&mut order, &info);
                        self.on_fills(fills, depth);
                    }
                }
            }
        }
    }

    fn on_fills(&mut self, fills: Vec<Fill>, depth: u8) {
        for f in fills {
            self.fills.push(key(&f));
            if depth < 4 {
                let sdk_fill = tradehost_sdk::Fill {
                    symbol: f.symbol.0,
                    order_id: f.order_id,
                    side: if f.side == Side::Buy { tradehost_sdk::Side::Buy } else { tradehost_sdk::Side::Sell },
                    price: f.price,
                    qty: f.qty,
                    fee: f.fee,
                    time_ms: f.time_ms,
                };
                self.call(depth + 1, |s, cx| s.on_fill(cx, &sdk_fill));
            }
        }
    }

    fn candle(&mut self, c: &Candle) {
        self.now = c.close_time_ms;
        let info = self.infos[c.symbol.0 as usize].clone();
        for (_, fill) in self.venue.on_bar_open(c, &info) {
            self.on_fills(fill.into_iter().collect(), 0);
        }
        for (_, fill) in self.venue.on_bar_range(c, &info) {
            self.on_fills(fill.into_iter().collect(), 0);
        }
        self.last.insert(c.symbol.0, c.close);
        let sc = tradehost_sdk::Candle {
            symbol: c.symbol.0,
            open_time_ms: c.open_time_ms,
            close_time_ms: c.close_time_ms,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.volume,
            quote_volume: c.quote_volume,
            trades: c.trades,
            taker_buy_base: c.taker_buy_base,
            taker_buy_quote: c.taker_buy_quote,
        };
        self.call(0, |s, cx| s.on_candle(cx, &sc));
    }

    /// The end of a backtest: cancel what rests, sell what is held at the last open.
    fn finish(&mut self, last_open: Decimal, time_ms: i64) {
        let ids: Vec<u64> = self.venue.open_orders().iter().map(|o| o.id).collect();
        for id in ids {
            self.venue.cancel(id);
        }
        let held: Vec<(SymbolId, Decimal)> = self
            .venue
            .account(&self.cfg.id)
            .map(|a| a.positions.iter().filter(|(_, p)| p.qty > Decimal::ZERO).map(|(s, p)| (*s, p.qty)).collect())
            .unwrap_or_default();
        for (symbol, qty) in held {
            let mut order = Order {
                id: self.next_id,
                instance: self.cfg.id.clone(),
                symbol,
                side: Side::Sell,
                kind: OrderKind::Market,
                qty,
                filled: Decimal::ZERO,
                status: OrderStatus::New,
                reason: None,
                tag: String::new(),
                time_ms,
            };
            self.next_id += 1;
            let info = self.infos[symbol.0 as usize].clone();
            if let Some(f) = self.venue.execute_at(&mut order, &info, last_open, time_ms) {
                self.fills.push(key(&f));
            }
        }
    }
}

fn native_fills<S: Strategy>(cfg: &StrategyConfig) -> Vec<FillKey> {
    let symbols = feeds::shared_symbols();
    for s in &cfg.symbols {
        symbols.write().unwrap().intern(&s.name);
    }
    let mut feed = feeds::open_replay(&[data()], symbols).unwrap();
    let mut twin = Twin::<S>::new(cfg.clone());
    let mut last = None;
    while let Some(ev) = feed.next_event().unwrap() {
        if let FeedEvent::Candle(c) = ev {
            twin.candle(&c);
            last = Some(c);
        }
    }
    let c = last.unwrap();
    twin.finish(c.open, c.close_time_ms);
    twin.fills
}

fn check<S: Strategy>(id: &str) {
    let cfg = variant(id);
    let native = native_fills::<S>(&cfg);
    let wasm = wasm_fills(&cfg);
    assert!(!native.is_empty(), "{id}: the native twin trades on this data");
    for (n, (a, b)) in wasm.iter().zip(&native).enumerate() {
        assert_eq!(a, b, "{id}: fill #{n} differs (wasm vs native)");
    }
    assert_eq!(wasm.len(), native.len(), "{id}: number of fills");
}

#[test]
fn sma_ema() {
    check::<sma_ema::SmaEma>("sma-ema-a");
}
#[test]
fn spread() {
    check::<spread::Spread>("spread-a");
}
#[test]
fn scalping() {
    check::<scalping::Scalping>("scalping-a");
}
#[test]
fn grid() {
    check::<grid::Grid>("grid-a");
}
#[test]
fn mean_reversion() {
    check::<mean_reversion::MeanReversion>("mean-reversion-a");
}
#[test]
fn momentum() {
    check::<momentum::Momentum>("momentum-a");
}
#[test]
fn market_making() {
    check::<market_making::MarketMaking>("market-making-a");
}
