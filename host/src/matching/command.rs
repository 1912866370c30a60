//! The commands the engine applies. A command carries everything it needs, event time
//! included, so the journal of commands is the whole input: replaying it from an empty
//! engine (with the same [`super::EngineConfig`]) rebuilds the same books, wallets, ids
//! and events, bit for bit. That replay is the recovery path after a restart.

use super::types::{AccountId, OrderId, OrderType, PairId, Side, StpMode, TimeInForce};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One input to [`super::Engine::apply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// List a trading pair with its filters; it gets the next [`PairId`].
    AddPair(PairConfig),
    /// Credit an account (created on first deposit).
    Deposit {
        /// The account.
        account: AccountId,
        /// Asset name, e.g. `BTC`.
        asset: String,
        /// Positive amount, at most 12 decimals.
        amount: Decimal,
    },
    /// Debit an account's available balance.
    Withdraw {
        /// The account.
        account: AccountId,
        /// Asset name.
        asset: String,
        /// Positive amount, at most 12 decimals.
        amount: Decimal,
    },
    /// Place an order.
    Place(NewOrder),
    /// Cancel an open order (resting or waiting for its trigger) of this account.
    Cancel {
        /// The owner.
        account: AccountId,
        /// The order.
        order_id: OrderId,
        /// Event time.
        time_ms: i64,
    },
    /// A trade on the real market (market data): moves the last price, which fires stops.
    MarketTrade {
        /// The pair.
        pair: PairId,
        /// Trade price (rounded to the pair's tick is not required; compared exactly).
        price: Decimal,
        /// Event time.
        time_ms: i64,
    },
    /// Expire every DAY and GTD order whose expiry is at or before `now_ms`.
    Sweep {
        /// Event time of the sweep.
        now_ms: i64,
    },
    /// Give one account its own maker/taker rates (a fee tier; zero for accounts whose
    /// fees are charged elsewhere, like the host's strategy accounts).
    SetFees {
        /// The account.
        account: AccountId,
        /// Maker rate.
        maker_rate: Decimal,
        /// Taker rate.
        taker_rate: Decimal,
    },
}

/// A trading pair and its filters (Binance's names in the comments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// `BTC/USD` or `BTCUSDT` form.
    pub symbol: String,
    /// PRICE_FILTER tickSize.
    pub tick_size: Decimal,
    /// LOT_SIZE stepSize.
    pub step_size: Decimal,
    /// LOT_SIZE minQty (the seed's `MIN_ORDER_SIZE`); 0 means one step.
    #[serde(default)]
    pub min_qty: Decimal,
    /// LOT_SIZE maxQty (the seed's `MAX_ORDER_SIZE`); `None` means 10^12.
    #[serde(default)]
    pub max_qty: Option<Decimal>,
    /// MIN_NOTIONAL: price * quantity at least this (0 = no minimum).
    #[serde(default)]
    pub min_notional: Decimal,
    /// MAX_ORDER_SIZE in quote terms: price * quantity at most this (`None` = no limit).
    #[serde(default)]
    pub max_notional: Option<Decimal>,
    /// ICEBERG_PARTS limit.
    #[serde(default = "default_iceberg_parts")]
    pub max_iceberg_parts: u32,
    /// TRAILING_DELTA minimum, bps.
    #[serde(default = "default_min_trailing")]
    pub min_trailing_delta_bps: u32,
    /// TRAILING_DELTA maximum, bps.
    #[serde(default = "default_max_trailing")]
    pub max_trailing_delta_bps: u32,
}

fn default_iceberg_parts() -> u32 {
    100
}
fn default_min_trailing() -> u32 {
    10
}
fn default_max_trailing() -> u32 {
    2000
}

impl PairConfig {
    /// A pair with the given grid and Binance's default limits for the rest.
    pub fn new(symbol: &str, tick_size: Decimal, step_size: Decimal) -> PairConfig {
        PairConfig {
            symbol: symbol.to_string(),
            tick_size,
            step_size,
            min_qty: Decimal::ZERO,
            max_qty: None,
            min_notional: Decimal::ZERO,
            max_notional: None,
            max_iceberg_parts: default_iceberg_parts(),
            min_trailing_delta_bps: default_min_trailing(),
            max_trailing_delta_bps: default_max_trailing(),
        }
    }
}

/// An order as the client sent it, decimals at the edge. Which fields an order type
/// requires (and refuses) follows Binance spot; see [`super::place`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The owner; funds are locked in its wallets.
    pub account: AccountId,
    /// The pair.
    pub pair: PairId,
    /// Buy or sell.
    pub side: Side,
    /// The order type.
    pub order_type: OrderType,
    /// Time in force (ignored by market-type orders, which never rest).
    pub time_in_force: TimeInForce,
    /// Base quantity.
    pub quantity: Option<Decimal>,
    /// Quote quantity, MARKET only (Binance `quoteOrderQty`), instead of `quantity`.
    pub quote_quantity: Option<Decimal>,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Stop (trigger) price.
    pub stop_price: Option<Decimal>,
    /// ICEBERG visible slice.
    pub iceberg_qty: Option<Decimal>,
    /// TRAILING_STOP delta in basis points.
    pub trailing_delta_bps: Option<u32>,
    /// TRAILING_STOP activation price: a sell starts trailing once the last price is at or
    /// above it, a buy once at or below it.
    pub activation_price: Option<Decimal>,
    /// Self-trade prevention mode.
    pub stp: StpMode,
    /// Event time of the order, ms since the Unix epoch.
    pub time_ms: i64,
}

impl NewOrder {
    fn base(account: AccountId, pair: PairId, side: Side, order_type: OrderType, time_ms: i64) -> NewOrder {
        NewOrder {
            account,
            pair,
            side,
            order_type,
            time_in_force: TimeInForce::Gtc,
            quantity: None,
            quote_quantity: None,
            price: None,
            stop_price: None,
            iceberg_qty: None,
            trailing_delta_bps: None,
            activation_price: None,
            stp: StpMode::None,
            time_ms,
        }
    }

    /// A GTC limit order.
    pub fn limit(account: AccountId, pair: PairId, side: Side, price: Decimal, qty: Decimal, time_ms: i64) -> Self {
        NewOrder {
            price: Some(price),
            quantity: Some(qty),
            ..Self::base(account, pair, side, OrderType::Limit, time_ms)
        }
    }

    /// A market order by base quantity.
    pub fn market(account: AccountId, pair: PairId, side: Side, qty: Decimal, time_ms: i64) -> Self {
        NewOrder { quantity: Some(qty), ..Self::base(account, pair, side, OrderType::Market, time_ms) }
    }

    /// A market order by quote quantity.
    pub fn market_quote(account: AccountId, pair: PairId, side: Side, quote: Decimal, time_ms: i64) -> Self {
        NewOrder { quote_quantity: Some(quote), ..Self::base(account, pair, side, OrderType::Market, time_ms) }
    }

    /// A stop-type order (STOP_LOSS, TAKE_PROFIT; add [`NewOrder::with_price`] for the
    /// _LIMIT forms).
    pub fn stop(
        account: AccountId,
        pair: PairId,
        side: Side,
        order_type: OrderType,
        stop: Decimal,
        qty: Decimal,
        time_ms: i64,
    ) -> Self {
        NewOrder { stop_price: Some(stop), quantity: Some(qty), ..Self::base(account, pair, side, order_type, time_ms) }
    }

    /// An iceberg limit order showing `visible` at a time.
    pub fn iceberg(
        account: AccountId,
        pair: PairId,
        side: Side,
        price: Decimal,
        qty: Decimal,
        visible: Decimal,
        time_ms: i64,
    ) -> Self {
        NewOrder {
            price: Some(price),
            quantity: Some(qty),
            iceberg_qty: Some(visible),
            ..Self::base(account, pair, side, OrderType::Iceberg, time_ms)
        }
    }

    /// A trailing stop (market once it fires).
    pub fn trailing(
        account: AccountId,
        pair: PairId,
        side: Side,
        qty: Decimal,
        delta_bps: u32,
        activation: Option<Decimal>,
        time_ms: i64,
    ) -> Self {
        NewOrder {
            quantity: Some(qty),
            trailing_delta_bps: Some(delta_bps),
            activation_price: activation,
            ..Self::base(account, pair, side, OrderType::TrailingStop, time_ms)
        }
    }

    /// The same order with another order type (e.g. LIMIT_MAKER from a limit).
    pub fn with_type(mut self, order_type: OrderType) -> Self {
        self.order_type = order_type;
        self
    }

    /// The same order with a limit price.
    pub fn with_price(mut self, price: Decimal) -> Self {
        self.price = Some(price);
        self
    }

    /// The same order with another time in force.
    pub fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.time_in_force = tif;
        self
    }

    /// The same order with a self-trade prevention mode.
    pub fn with_stp(mut self, stp: StpMode) -> Self {
        self.stp = stp;
        self
    }
}
