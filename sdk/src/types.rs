//! Native mirrors of the contract's records, with `Decimal` for every price and quantity.

use rust_decimal::Decimal;

/// A symbol interned by the host at init.
pub type SymbolId = u32;

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

/// One trade from the market feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Trade time, ms since the Unix epoch.
    pub time_ms: i64,
    /// Trade price.
    pub price: Decimal,
    /// Trade quantity in base units.
    pub qty: Decimal,
    /// Exchange trade id.
    pub trade_id: u64,
    /// True when the buyer was the maker (a sell aggressor).
    pub buyer_maker: bool,
}

/// A closed one-minute candle.
#[derive(Debug, Clone, PartialEq)]
pub struct Candle {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Start of the minute, ms since the Unix epoch.
    pub open_time_ms: i64,
    /// Last millisecond of the minute.
    pub close_time_ms: i64,
    /// First trade price.
    pub open: Decimal,
    /// Highest trade price.
    pub high: Decimal,
    /// Lowest trade price.
    pub low: Decimal,
    /// Last trade price.
    pub close: Decimal,
    /// Sum of trade quantities.
    pub volume: Decimal,
    /// Sum of price * quantity.
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trades: u64,
    /// Volume of trades whose aggressor bought.
    pub taker_buy_base: Decimal,
    /// Quote volume of trades whose aggressor bought.
    pub taker_buy_quote: Decimal,
}

/// An execution of one of this strategy's orders.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Host order id.
    pub order_id: u64,
    /// Side of the order.
    pub side: Side,
    /// Execution price.
    pub price: Decimal,
    /// Executed quantity.
    pub qty: Decimal,
    /// Fee in the quote asset.
    pub fee: Decimal,
    /// Execution time (event time), ms.
    pub time_ms: i64,
}

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderKind {
    /// At the best available price now.
    Market,
    /// Resting at a limit price.
    Limit(Decimal),
    /// A market order released when the last price reaches the stop price.
    StopMarket(Decimal),
}

/// An order the strategy asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRequest {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Market, limit or stop.
    pub kind: OrderKind,
    /// Quantity in base units.
    pub qty: Decimal,
    /// Free text recorded with the order.
    pub tag: String,
}

/// A trading signal worth recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Direction.
    pub side: Side,
    /// Price at the signal.
    pub price: Decimal,
    /// Why, e.g. "ema crossed above sma".
    pub reason: String,
}

/// What a handler returns to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Place an order.
    Place(OrderRequest),
    /// Cancel a working order by id.
    Cancel(u64),
    /// Record a signal.
    Signal(Signal),
}

/// A symbol the instance trades.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolInfo {
    /// Interned id used in every event.
    pub id: SymbolId,
    /// Exchange name, e.g. `BTCUSDT`, or `bybit:BTCUSDT` for one venue's market.
    pub name: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote asset, e.g. `USDT`.
    pub quote: String,
}

impl SymbolInfo {
    /// The venue of a venue-qualified market (`bybit` in `bybit:BTCUSDT`), else `None`.
    pub fn venue(&self) -> Option<&str> {
        self.name.split_once(':').map(|(v, _)| v)
    }

    /// The pair without its venue (`BTCUSDT` in `bybit:BTCUSDT`).
    pub fn pair(&self) -> &str {
        self.name.split_once(':').map_or(&self.name, |(_, p)| p)
    }
}

/// Everything a strategy learns at start.
#[derive(Debug, Clone, Default)]
pub struct InitContext {
    /// Instance id from plugins.toml.
    pub instance: String,
    /// Symbols this instance trades.
    pub symbols: Vec<SymbolInfo>,
    /// The instance's parameters.
    pub params: crate::Params,
}

impl InitContext {
    /// The symbol with this exchange name, if the instance trades it.
    pub fn symbol(&self, name: &str) -> Option<&SymbolInfo> {
        let name = name.trim();
        self.symbols.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

/// Which events a strategy wants besides candles and fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subscriptions {
    /// Deliver every trade to `on_tick`.
    pub ticks: bool,
    /// Call `on_timer` this often (event time, ms); 0 = never.
    pub timer_ms: u32,
}

/// A working order.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOrder {
    /// Host order id.
    pub id: u64,
    /// Interned symbol.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Order kind.
    pub kind: OrderKind,
    /// Ordered quantity.
    pub qty: Decimal,
    /// Quantity filled so far.
    pub filled: Decimal,
}

/// Log severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Very detailed.
    Trace,
    /// Diagnostic.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}
