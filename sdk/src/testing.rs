//! An in-memory [`Host`] for unit-testing strategies natively, without wasm.

use crate::{Decimal, Host, Level, OpenOrder, SymbolId};
use std::cell::RefCell;
use std::collections::HashMap;

/// A host whose answers a test sets; it records every log line.
#[derive(Debug, Default)]
pub struct MockHost {
    /// Position per symbol.
    pub positions: HashMap<SymbolId, Decimal>,
    /// Entry price per symbol.
    pub entry_prices: HashMap<SymbolId, Decimal>,
    /// Balance per asset.
    pub balances: HashMap<String, Decimal>,
    /// Last price per symbol.
    pub last_prices: HashMap<SymbolId, Decimal>,
    /// Working orders.
    pub open_orders: Vec<OpenOrder>,
    /// Every line logged, in order.
    pub logs: RefCell<Vec<(Level, String)>>,
}

impl Host for MockHost {
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
    fn position(&self, symbol: SymbolId) -> Decimal {
        self.positions.get(&symbol).copied().unwrap_or_default()
    }
    fn entry_price(&self, symbol: SymbolId) -> Option<Decimal> {
        self.entry_prices.get(&symbol).copied()
    }
    fn balance(&self, asset: &str) -> Decimal {
        self.balances.get(asset).copied().unwrap_or_default()
    }
    fn last_price(&self, symbol: SymbolId) -> Option<Decimal> {
        self.last_prices.get(&symbol).copied()
    }
    fn open_orders(&self, symbol: SymbolId) -> Vec<OpenOrder> {
        self.open_orders.iter().filter(|o| o.symbol == symbol).cloned().collect()
    }
}
