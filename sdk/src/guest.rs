//! wasm32 glue: the bindings generated from `wit/strategy.wit`, conversions between the
//! contract's records and the SDK's types, and the export behind `export_strategy!`.

wit_bindgen::generate!({
    path: "wit/strategy.wit",
    world: "strategy-batched",
    pub_export_macro: true,
    export_macro_name: "__tradehost_export",
    default_bindings_module: "tradehost_sdk::guest",
    runtime_path: "tradehost_sdk::guest::__wit_rt",
});

pub use wit_bindgen::rt as __wit_rt;

/// Small blocks from per-size free lists instead of dlmalloc (see [`crate::pool`]).
#[cfg(all(feature = "pool-alloc", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: crate::pool::Pools = crate::pool::Pools::new();

use self::tradehost::strategy::{host as wit_host, types as wit};
use crate::{Ctx, Params, Strategy};
use rust_decimal::Decimal;
use std::cell::RefCell;

pub use self::exports::tradehost::strategy::guest::Guest;
pub use self::exports::tradehost::strategy::guest_batch::Guest as GuestBatch;

fn dec_in(d: wit::Decimal) -> Decimal {
    let m = ((d.hi as i128) << 64) | d.lo as i128;
    // The host only sends values it got from a Decimal, so this cannot fail for it.
    Decimal::try_from_i128_with_scale(m, u32::from(d.scale))
        .unwrap_or_else(|e| panic!("host sent an invalid decimal (mantissa {m}, scale {}): {e}", d.scale))
}

fn dec_out(d: Decimal) -> wit::Decimal {
    let m = d.mantissa();
    wit::Decimal { lo: m as u64, hi: (m >> 64) as i64, scale: d.scale() as u8 }
}

fn side_in(s: wit::Side) -> crate::Side {
    match s {
        wit::Side::Buy => crate::Side::Buy,
        wit::Side::Sell => crate::Side::Sell,
    }
}

fn side_out(s: crate::Side) -> wit::Side {
    match s {
        crate::Side::Buy => wit::Side::Buy,
        crate::Side::Sell => wit::Side::Sell,
    }
}

fn kind_in(k: wit::OrderKind) -> crate::OrderKind {
    match k {
        wit::OrderKind::Market => crate::OrderKind::Market,
        wit::OrderKind::Limit(p) => crate::OrderKind::Limit(dec_in(p)),
        wit::OrderKind::StopMarket(p) => crate::OrderKind::StopMarket(dec_in(p)),
    }
}

fn kind_out(k: crate::OrderKind) -> wit::OrderKind {
    match k {
        crate::OrderKind::Market => wit::OrderKind::Market,
        crate::OrderKind::Limit(p) => wit::OrderKind::Limit(dec_out(p)),
        crate::OrderKind::StopMarket(p) => wit::OrderKind::StopMarket(dec_out(p)),
    }
}

fn intent_out(i: crate::Intent) -> wit::Intent {
    match i {
        crate::Intent::Place(o) => wit::Intent::Place(wit::OrderRequest {
            symbol: o.symbol,
            side: side_out(o.side),
            kind: kind_out(o.kind),
            qty: dec_out(o.qty),
            tag: o.tag,
        }),
        crate::Intent::Cancel(id) => wit::Intent::Cancel(id),
        crate::Intent::Signal(s) => wit::Intent::Signal(wit::Signal {
            symbol: s.symbol,
            side: side_out(s.side),
            price: dec_out(s.price),
            reason: s.reason,
        }),
    }
}

/// The host's answers about this instance's account, kept while the host's `view-version`
/// stays the same (it moves whenever any of them may have changed), so a strategy that
/// asks on every candle makes one cheap host call instead of several list transfers.
/// `last-price` is never kept: it moves with the market.
#[derive(Default)]
struct ViewCache {
    /// The `view-version` the entries belong to; `None` before the first query.
    version: Option<u64>,
    /// Whether `version` was checked against the host during the current event.
    checked: bool,
    positions: Vec<(crate::SymbolId, Decimal)>,
    entries: Vec<(crate::SymbolId, Option<Decimal>)>,
    balances: Vec<(String, Decimal)>,
    open_orders: Vec<(crate::SymbolId, Vec<crate::OpenOrder>)>,
}

impl ViewCache {
    /// Drop everything if the host's view moved since the entries were fetched (asked
    /// once per event: within one call the host's view cannot change).
    fn validate(&mut self) {
        if self.checked {
            return;
        }
        self.checked = true;
        let now = wit_host::view_version();
        if self.version != Some(now) {
            self.version = Some(now);
            self.positions.clear();
            self.entries.clear();
            self.balances.clear();
            self.open_orders.clear();
        }
    }
}

thread_local! {
    static VIEW: RefCell<ViewCache> = RefCell::new(ViewCache::default());
}

/// The kept answer for `key` in `list`, or `fetch`'s, which is kept.
fn cached<K: PartialEq + Clone, V: Clone>(
    list: impl FnOnce(&mut ViewCache) -> &mut Vec<(K, V)>,
    key: &K,
    fetch: impl FnOnce() -> V,
) -> V {
    VIEW.with(|v| {
        let mut cache = v.borrow_mut();
        cache.validate();
        let list = list(&mut cache);
        if let Some((_, value)) = list.iter().find(|(k, _)| k == key) {
            return value.clone();
        }
        let value = fetch();
        list.push((key.clone(), value.clone()));
        value
    })
}

/// The [`crate::Host`] backed by the component's imports. Within a candle batch it
/// answers `last-price` for the batch's symbols from their latest close (normalised, as
/// the host keeps a kline's close): the host's own answer is as of the batch's first
/// candle.
#[derive(Default)]
struct WasmHost {
    closes: Vec<(crate::SymbolId, Decimal)>,
}

impl crate::Host for WasmHost {
    fn log(&self, level: crate::Level, message: &str) {
        let level = match level {
            crate::Level::Trace => wit::Level::Trace,
            crate::Level::Debug => wit::Level::Debug,
            crate::Level::Info => wit::Level::Info,
            crate::Level::Warn => wit::Level::Warn,
            crate::Level::Error => wit::Level::Error,
        };
        wit_host::log(level, message);
    }
    fn position(&self, symbol: crate::SymbolId) -> Decimal {
        cached(|c| &mut c.positions, &symbol, || dec_in(wit_host::position(symbol)))
    }
    fn entry_price(&self, symbol: crate::SymbolId) -> Option<Decimal> {
        cached(|c| &mut c.entries, &symbol, || wit_host::entry_price(symbol).map(dec_in))
    }
    fn balance(&self, asset: &str) -> Decimal {
        cached(|c| &mut c.balances, &asset.to_string(), || dec_in(wit_host::balance(asset)))
    }
    fn last_price(&self, symbol: crate::SymbolId) -> Option<Decimal> {
        match self.closes.iter().find(|(s, _)| *s == symbol) {
            Some((_, close)) => Some(close.normalize()),
            None => wit_host::last_price(symbol).map(dec_in),
        }
    }
    fn open_orders(&self, symbol: crate::SymbolId) -> Vec<crate::OpenOrder> {
        cached(
            |c| &mut c.open_orders,
            &symbol,
            || {
                wit_host::open_orders(symbol)
                    .into_iter()
                    .map(|o| crate::OpenOrder {
                        id: o.id,
                        symbol: o.symbol,
                        side: side_in(o.side),
                        kind: kind_in(o.kind),
                        qty: dec_in(o.qty),
                        filled: dec_in(o.filled),
                    })
                    .collect()
            },
        )
    }
}

/// Run a handler against the instance in `slot` and return its intents.
pub fn dispatch<S: Strategy>(slot: &RefCell<Option<S>>, f: impl FnOnce(&mut S, &mut Ctx)) -> Vec<wit::Intent> {
    let mut guard = slot.borrow_mut();
    let Some(strategy) = guard.as_mut() else {
        wit_host::log(wit::Level::Error, "event delivered before init");
        return Vec::new();
    };
    // A new event: the host may have refreshed its view since the last one.
    VIEW.with(|v| v.borrow_mut().checked = false);
    let host = WasmHost::default();
    let mut ctx = Ctx::new(&host);
    f(strategy, &mut ctx);
    if ctx.fill_ignored {
        // The default `on_fill`: the host may stop sending fills (a call each).
        wit_host::fills_ignored();
    }
    ctx.take_intents().into_iter().map(intent_out).collect()
}

/// `on-candles`: each candle through `Strategy::on_candle` until one returns intents.
pub fn dispatch_candles<S: Strategy>(
    slot: &RefCell<Option<S>>,
    candles: Vec<wit::CandleCompact>,
) -> (u32, Vec<wit::Intent>) {
    let mut guard = slot.borrow_mut();
    let Some(strategy) = guard.as_mut() else {
        wit_host::log(wit::Level::Error, "event delivered before init");
        return (candles.len() as u32, Vec::new());
    };
    VIEW.with(|v| v.borrow_mut().checked = false);
    let total = candles.len() as u32;
    let mut host = WasmHost::default();
    for (n, k) in candles.into_iter().enumerate() {
        let c = candle_compact_in(k);
        // Normalised only if asked for (`last_price`): most strategies never ask.
        let close = c.close;
        match host.closes.iter_mut().find(|(s, _)| *s == c.symbol) {
            Some(entry) => entry.1 = close,
            None => host.closes.push((c.symbol, close)),
        }
        let mut ctx = Ctx::new(&host);
        strategy.on_candle(&mut ctx, &c);
        let intents = ctx.take_intents();
        if !intents.is_empty() {
            return (n as u32 + 1, intents.into_iter().map(intent_out).collect());
        }
    }
    (total, Vec::new())
}

/// `init`: install the panic forwarder, build the strategy, store it in `slot`.
pub fn init<S: Strategy>(slot: &RefCell<Option<S>>, ctx: wit::InitContext) -> Result<wit::Subscriptions, String> {
    std::panic::set_hook(Box::new(|info| {
        wit_host::log(wit::Level::Error, &format!("strategy panicked: {info}"));
    }));
    let ctx = crate::InitContext {
        instance: ctx.instance,
        symbols: ctx
            .symbols
            .into_iter()
            .map(|s| crate::SymbolInfo { id: s.id, name: s.name, base: s.base, quote: s.quote })
            .collect(),
        params: Params::new(ctx.params.into_iter().map(|p| (p.key, p.value))),
    };
    let (strategy, subs) = S::init(&ctx)?;
    *slot.borrow_mut() = Some(strategy);
    Ok(wit::Subscriptions { ticks: subs.ticks, timer_ms: subs.timer_ms })
}

/// Convert a tick from the contract.
pub fn tick_in(t: wit::Tick) -> crate::Tick {
    crate::Tick {
        symbol: t.symbol,
        time_ms: t.time_ms,
        price: dec_in(t.price),
        qty: dec_in(t.qty),
        trade_id: t.trade_id,
        buyer_maker: t.buyer_maker,
    }
}

/// Convert a candle from the contract.
pub fn candle_in(c: wit::Candle) -> crate::Candle {
    crate::Candle {
        symbol: c.symbol,
        open_time_ms: c.open_time_ms,
        close_time_ms: c.close_time_ms,
        open: dec_in(c.open),
        high: dec_in(c.high),
        low: dec_in(c.low),
        close: dec_in(c.close),
        volume: dec_in(c.volume),
        quote_volume: dec_in(c.quote_volume),
        trades: c.trades,
        taker_buy_base: dec_in(c.taker_buy_base),
        taker_buy_quote: dec_in(c.taker_buy_quote),
    }
}

/// Convert a compact candle from the contract.
pub fn candle_compact_in(c: wit::CandleCompact) -> crate::Candle {
    let d = |m: i64, scale: u8| {
        Decimal::try_new(m, u32::from(scale)).unwrap_or_else(|e| panic!("host sent an invalid decimal: {e}"))
    };
    crate::Candle {
        symbol: c.symbol,
        open_time_ms: c.open_time_ms,
        close_time_ms: c.open_time_ms + 59_999,
        open: d(c.open, c.price_scale),
        high: d(c.high, c.price_scale),
        low: d(c.low, c.price_scale),
        close: d(c.close, c.price_scale),
        volume: d(c.volume, c.base_scale),
        quote_volume: d(c.quote_volume, c.quote_scale),
        trades: c.trades,
        taker_buy_base: d(c.taker_buy_base, c.base_scale),
        taker_buy_quote: d(c.taker_buy_quote, c.quote_scale),
    }
}

/// Convert a fill from the contract.
pub fn fill_in(f: wit::Fill) -> crate::Fill {
    crate::Fill {
        symbol: f.symbol,
        order_id: f.order_id,
        side: side_in(f.side),
        price: dec_in(f.price),
        qty: dec_in(f.qty),
        fee: dec_in(f.fee),
        time_ms: f.time_ms,
    }
}

/// Implements the generated `Guest` trait for an export type over a `Strategy`.
#[doc(hidden)]
#[macro_export]
macro_rules! __guest_impl {
    ($export:ident, $strategy:ty) => {
        ::std::thread_local! {
            static STATE: ::std::cell::RefCell<Option<$strategy>> =
                const { ::std::cell::RefCell::new(None) };
        }
        use $crate::guest::tradehost::strategy::types as __t;
        impl $crate::guest::Guest for $export {
            fn init(ctx: __t::InitContext) -> Result<__t::Subscriptions, String> {
                STATE.with(|s| $crate::guest::init::<$strategy>(s, ctx))
            }
            fn on_tick(t: __t::Tick) -> Vec<__t::Intent> {
                let t = $crate::guest::tick_in(t);
                STATE.with(|s| $crate::guest::dispatch(s, |st, cx| $crate::Strategy::on_tick(st, cx, &t)))
            }
            fn on_candle(c: __t::Candle) -> Vec<__t::Intent> {
                let c = $crate::guest::candle_in(c);
                STATE.with(|s| $crate::guest::dispatch(s, |st, cx| $crate::Strategy::on_candle(st, cx, &c)))
            }
            fn on_candle_compact(c: __t::CandleCompact) -> Vec<__t::Intent> {
                let c = $crate::guest::candle_compact_in(c);
                STATE.with(|s| $crate::guest::dispatch(s, |st, cx| $crate::Strategy::on_candle(st, cx, &c)))
            }
            fn on_fill(f: __t::Fill) -> Vec<__t::Intent> {
                let f = $crate::guest::fill_in(f);
                STATE.with(|s| $crate::guest::dispatch(s, |st, cx| $crate::Strategy::on_fill(st, cx, &f)))
            }
            fn on_timer(now_ms: i64) -> Vec<__t::Intent> {
                STATE.with(|s| $crate::guest::dispatch(s, |st, cx| $crate::Strategy::on_timer(st, cx, now_ms)))
            }
            fn snapshot() -> Vec<u8> {
                STATE.with(|s| s.borrow().as_ref().map($crate::Strategy::snapshot).unwrap_or_default())
            }
            fn restore(state: Vec<u8>) -> Result<(), String> {
                STATE.with(|s| match s.borrow_mut().as_mut() {
                    Some(st) => $crate::Strategy::restore(st, &state),
                    None => Err("restore before init".to_string()),
                })
            }
        }
        impl $crate::guest::GuestBatch for $export {
            fn on_candles(cs: Vec<__t::CandleCompact>) -> (u32, Vec<__t::Intent>) {
                STATE.with(|s| $crate::guest::dispatch_candles::<$strategy>(s, cs))
            }
        }
        $crate::guest::__tradehost_export!($export with_types_in $crate::guest);
    };
}
