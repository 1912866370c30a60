//! Order execution: strategy intents pass risk checks, then go to a venue; fills come
//! back and update the instance's account.
//!
//! | file | owns |
//! | --- | --- |
//! | `order.rs` | orders, fills, statuses |
//! | `account.rs` | per-instance balances and positions with PnL |
//! | `risk.rs` | checks every order before a venue sees it |
//! | `paper.rs` | the paper venue (fills at the last trade price) |
//! | `live.rs` | the router that sends a live instance's orders to its exchange |

pub mod account;
pub mod live;
pub mod order;
pub mod paper;
pub mod risk;

pub use account::{Account, Position};
pub use order::{Fill, Order, OrderKind, OrderStatus, Side};
pub use paper::PaperVenue;

use crate::market_data::{SymbolInfo, Tick};

/// Where orders execute. The paper venue is the first; the matching engine and the
/// exchange connectors plug in behind the same trait.
pub trait Venue {
    /// Take a risk-checked order. Returns fills that happened at once; the order's
    /// status is updated in place (filled, resting, or rejected with a reason).
    fn submit(&mut self, order: &mut Order, info: &SymbolInfo) -> Vec<Fill>;
    /// Cancel a working order; returns it, canceled, if it was working.
    fn cancel(&mut self, order_id: u64) -> Option<Order>;
    /// A market trade: resting orders it reaches execute. Returns each order that
    /// changed, with its fill if it executed (none if it was rejected on trigger).
    fn on_tick(&mut self, tick: &Tick, info: &SymbolInfo) -> Vec<(Order, Option<Fill>)>;
    /// Working orders, for queries and reconciliation.
    fn open_orders(&self) -> &[Order];
    /// The account of a strategy instance.
    fn account(&self, instance: &str) -> Option<&Account>;
}
