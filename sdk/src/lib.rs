//! The tradehost strategy SDK.
//!
//! A strategy is one type implementing [`Strategy`], registered with
//! [`export_strategy!`]. Built for `wasm32-unknown-unknown` it becomes a component that
//! speaks the contract in `wit/strategy.wit`; built natively it is a plain Rust type whose
//! logic unit tests drive through [`testing::MockHost`].
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`types`] | exact-decimal market data, orders and intents |
//! | [`params`] | typed access to the `[strategy.params]` table of plugins.toml |
//! | [`indicators`] | streaming SMA, EMA, RSI, Bollinger, ATR, rolling std dev, z-score, ROCP (equal to TA-Lib) |
//! | [`state`] | a tiny binary writer/reader for `snapshot`/`restore` |
//! | [`testing`] | an in-memory host for native unit tests |
#![deny(missing_docs)]

// Lets the generated bindings name this crate as `tradehost_sdk` from inside it too.
extern crate self as tradehost_sdk;

pub mod indicators;
pub mod params;
pub mod pool;
pub mod state;
pub mod testing;
pub mod types;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use params::{ParamError, Params};
pub use rust_decimal::Decimal;
pub use types::*;

/// The contract version this SDK builds against (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Read-only queries a strategy may make of the host, plus logging.
pub trait Host {
    /// Write a line to the host log, tagged with the instance id.
    fn log(&self, level: Level, message: &str);
    /// Signed position in base units (negative = short).
    fn position(&self, symbol: SymbolId) -> Decimal;
    /// Average entry price of the open position, if any.
    fn entry_price(&self, symbol: SymbolId) -> Option<Decimal>;
    /// Free balance of an asset in this instance's account.
    fn balance(&self, asset: &str) -> Decimal;
    /// Last traded price the host has seen for the symbol.
    fn last_price(&self, symbol: SymbolId) -> Option<Decimal>;
    /// This instance's working orders on a symbol.
    fn open_orders(&self, symbol: SymbolId) -> Vec<OpenOrder>;
}

/// What an event handler sees: the host's queries and a place to put intents.
pub struct Ctx<'a> {
    host: &'a dyn Host,
    intents: Vec<Intent>,
    /// A fill reached the default `Strategy::on_fill` (which does nothing).
    fill_ignored: bool,
}

impl<'a> Ctx<'a> {
    /// A context over a host; handlers push intents into it.
    pub fn new(host: &'a dyn Host) -> Self {
        Ctx { host, intents: Vec::new(), fill_ignored: false }
    }

    /// The host's read-only queries.
    pub fn host(&self) -> &dyn Host {
        self.host
    }

    /// Log at info level.
    pub fn log(&self, message: &str) {
        self.host.log(Level::Info, message);
    }

    /// Ask for a market order.
    pub fn market(&mut self, symbol: SymbolId, side: Side, qty: Decimal, tag: &str) {
        self.place(OrderRequest { symbol, side, kind: OrderKind::Market, qty, tag: tag.into() });
    }

    /// Ask for any order.
    pub fn place(&mut self, order: OrderRequest) {
        self.intents.push(Intent::Place(order));
    }

    /// Ask to cancel a working order.
    pub fn cancel(&mut self, order_id: u64) {
        self.intents.push(Intent::Cancel(order_id));
    }

    /// Record a trading signal (stored and broadcast by the host).
    pub fn signal(&mut self, symbol: SymbolId, side: Side, price: Decimal, reason: &str) {
        self.intents.push(Intent::Signal(Signal { symbol, side, price, reason: reason.into() }));
    }

    /// The intents collected so far, leaving the context empty.
    pub fn take_intents(&mut self) -> Vec<Intent> {
        std::mem::take(&mut self.intents)
    }
}

/// A trading strategy. Every handler but [`Strategy::init`] has a default that does nothing.
pub trait Strategy: Sized {
    /// Build the strategy from its instance context (symbols, params). An error
    /// disables this instance and is shown by the host's `/plugins` endpoint.
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String>;

    /// A trade, if [`Subscriptions::ticks`] asked for them.
    fn on_tick(&mut self, _ctx: &mut Ctx, _tick: &Tick) {}
    /// A closed one-minute candle of one of the instance's symbols.
    fn on_candle(&mut self, _ctx: &mut Ctx, _candle: &Candle) {}
    /// An execution of one of this instance's orders. If not overridden, the host stops
    /// calling it after the first fill (fills still show in positions, balances and open
    /// orders). A strategy that wraps others and forwards `on_fill` to them must forward
    /// only to ones that override it: reaching a default one stops fills for the instance.
    fn on_fill(&mut self, ctx: &mut Ctx, _fill: &Fill) {
        // Not overridden: the SDK tells the host, which then stops sending fills.
        ctx.fill_ignored = true;
    }
    /// The timer asked for in [`Subscriptions::timer_ms`], on event time.
    fn on_timer(&mut self, _ctx: &mut Ctx, _now_ms: i64) {}

    /// State to carry across a hot reload or a restart.
    fn snapshot(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Load what [`Strategy::snapshot`] wrote, possibly from an older build.
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Register a [`Strategy`] as this component's export.
///
/// ```
/// use tradehost_sdk::{InitContext, Strategy, Subscriptions};
///
/// struct Idle;
///
/// impl Strategy for Idle {
///     fn init(_ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
///         Ok((Idle, Subscriptions::default()))
///     }
/// }
///
/// tradehost_sdk::export_strategy!(Idle);
/// ```
///
/// On non-wasm targets this expands to nothing, so the crate also builds natively.
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __TradehostExport;
            $crate::__guest_impl!(__TradehostExport, $strategy);
        };
    };
}
