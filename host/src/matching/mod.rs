//! The paper exchange: a deterministic, in-process matching engine with order books,
//! Binance-style order types, time in force, self-trade prevention, filters and wallets.
//!
//! Pure logic: no I/O, no clock, no async. One entry point, [`Engine::apply`], takes a
//! [`Command`] and returns [`Event`]s; the same commands in the same order give the same
//! events and state bit for bit (order and trade ids are counters, time comes from the
//! commands, maps use a fixed hasher). The host journals commands and, on restart,
//! replays them into a fresh engine built from the same [`EngineConfig`]: **replay is the
//! recovery path.**
//!
//! Decimals at the edge, integers inside: prices become ticks and quantities lots (`i64`)
//! per pair, wallet amounts units of 10^-12 (`i128`).
//!
//! | file | owns |
//! | --- | --- |
//! | `types.rs` | ids, sides, order types, time in force, STP modes, statuses |
//! | `command.rs` | [`Command`], [`NewOrder`], [`PairConfig`] |
//! | `event.rs` | [`Event`], [`OrderUpdate`], [`Trade`] |
//! | `reject.rs` | [`RejectReason`]: every filter rejection names filter and allowed value |
//! | `units.rs` | exact decimal <-> integer conversion |
//! | `instrument.rs` | a pair's grid and filters |
//! | `validate.rs` | which fields and time in force each order type takes |
//! | `slab.rs` | open orders in a slab |
//! | `idmap.rs` | order id -> slot, direct-mapped pages |
//! | `book.rs` | price levels with FIFO queues, O(1) unlink |
//! | `matcher.rs` | taking liquidity, STP, settlement and fees per fill |
//! | `place.rs` | placement: locking funds, then match or park |
//! | `stops.rs` | stop, take-profit and trailing triggers |
//! | `wallet.rs` | balances, locks, [`FeeConfig`] |
//! | `engine.rs` | [`Engine`], `apply`, cancel, sweep, deposits |
//! | `view.rs` | read accessors |
//!
//! Rules worth knowing:
//! * Matching is price-time priority; a trade executes at the resting order's price.
//! * IOC/FOK/market remainders end EXPIRED; FOK checks the whole quantity first.
//! * A refilled iceberg slice goes to the back of its level.
//! * Stops trigger on the last traded price, from the engine's own trades and from
//!   [`Command::MarketTrade`]; a stop already satisfied at placement is rejected.
//! * DAY and GTD orders expire only through [`Command::Sweep`].
//! * Funds lock on placement (rules in `place.rs`) and are released on cancel/expiry;
//!   fees are charged in the asset received and credited to the fee account, so the sum
//!   of all balances per asset always equals net deposits ([`Engine::funds_conserved`]).

mod book;
mod command;
mod engine;
mod event;
mod idmap;
mod instrument;
mod matcher;
mod place;
mod reject;
mod slab;
mod stops;
mod types;
pub(crate) mod units;
mod validate;
mod view;
mod wallet;

#[cfg(test)]
mod tests;

pub use command::{Command, NewOrder, PairConfig};
pub use engine::{Engine, EngineConfig, end_of_utc_day};
pub use event::{Event, OrderUpdate, Trade};
pub use reject::RejectReason;
pub use types::{AccountId, OrderId, OrderStatus, OrderType, PairId, Side, StpMode, TimeInForce, TradeId};
pub use view::{BalanceView, Depth, DepthLevel, OrderView, PairView, Supply};
pub use wallet::{FeeConfig, FeeConfigError};
