//! What the engine reports. Events are the engine's only output; with the command
//! journal they are reproducible bit for bit, so stores and APIs may be rebuilt from them.

use super::reject::RejectReason;
use super::types::{AccountId, OrderId, OrderStatus, OrderType, PairId, Side, TradeId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One output of [`super::Engine::apply`], in the order things happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A pair was listed.
    PairAdded {
        /// Its id.
        pair: PairId,
        /// Exchange-style name, e.g. `BTCUSD`.
        symbol: String,
        /// Base asset.
        base: String,
        /// Quote asset.
        quote: String,
    },
    /// An account was credited.
    Deposited {
        /// The account.
        account: AccountId,
        /// The asset.
        asset: String,
        /// The amount.
        amount: Decimal,
    },
    /// An account was debited.
    Withdrawn {
        /// The account.
        account: AccountId,
        /// The asset.
        asset: String,
        /// The amount.
        amount: Decimal,
    },
    /// An order's state changed (accepted, executed, ended).
    Order(OrderUpdate),
    /// Two orders traded.
    Trade(Trade),
    /// A conditional order's trigger fired; it now executes as a market or limit order.
    Triggered {
        /// The order.
        order_id: OrderId,
        /// Its pair.
        pair: PairId,
        /// The last traded price that fired it.
        last_price: Decimal,
        /// Event time.
        time_ms: i64,
    },
    /// A command was refused. For a refused placement `order_id` is the id it was given
    /// (its status is REJECTED); for a refused cancel it is the order named.
    Rejected {
        /// The account that sent the command, if it names one.
        account: Option<AccountId>,
        /// The order concerned, if any.
        order_id: Option<OrderId>,
        /// Why (boxed: rejections are rare, events are many).
        reason: Box<RejectReason>,
    },
}

/// An order's new state, like Binance's execution report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// The order.
    pub order_id: OrderId,
    /// Its owner.
    pub account: AccountId,
    /// Its pair.
    pub pair: PairId,
    /// Its side.
    pub side: Side,
    /// Its type as placed (a triggered stop keeps its type).
    pub order_type: OrderType,
    /// The new status.
    pub status: OrderStatus,
    /// Base quantity executed so far.
    pub filled_qty: Decimal,
    /// Quote quantity executed so far (sum of price * qty).
    pub filled_quote: Decimal,
    /// Event time.
    pub time_ms: i64,
}

/// One execution between a resting (maker) and an incoming (taker) order.
///
/// Fees are charged in the asset each side receives: the buyer's in base, the seller's
/// in quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// Engine-wide trade id.
    pub trade_id: TradeId,
    /// The pair.
    pub pair: PairId,
    /// Price (the maker's).
    pub price: Decimal,
    /// Base quantity.
    pub qty: Decimal,
    /// Quote quantity, price * qty.
    pub quote_qty: Decimal,
    /// The taker's side.
    pub taker_side: Side,
    /// The resting order.
    pub maker_order: OrderId,
    /// The incoming order.
    pub taker_order: OrderId,
    /// The resting order's owner.
    pub maker_account: AccountId,
    /// The incoming order's owner.
    pub taker_account: AccountId,
    /// Fee charged to the maker, in the asset it received.
    pub maker_fee: Decimal,
    /// Fee charged to the taker, in the asset it received.
    pub taker_fee: Decimal,
    /// Event time.
    pub time_ms: i64,
}

impl Trade {
    /// The buying order.
    pub fn buyer_order(&self) -> OrderId {
        if self.taker_side == Side::Buy { self.taker_order } else { self.maker_order }
    }

    /// The selling order.
    pub fn seller_order(&self) -> OrderId {
        if self.taker_side == Side::Sell { self.taker_order } else { self.maker_order }
    }
}
