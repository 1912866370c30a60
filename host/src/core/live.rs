//! The core's side of live trading: orders of instances whose `venue` is an exchange go
//! through the exchange's filters, are journaled (written with the batch) and only then
//! handed to that venue's [`Router`](crate::execution::live::Router); what the exchange
//! reports comes back as [`LiveEvent`]s and updates the order, the instance's account and
//! the strategy.
//!
//! Fills are applied by cumulative quantity: an update only adds what the exchange
//! reports beyond what the order already has recorded, so a fill seen twice (REST answer
//! and private stream, or a reconciliation after a restart) is applied once.
//!
//! Stop orders are held by the host and sent as market orders when the last trade
//! reaches them (the exchanges' spot stop orders differ too much to rely on).

use super::Core;
use crate::connectors::{
    Balance, ExchangeId, ExchangeOrder, ExchangeOrderStatus, OrderRequest, OrderType, OwnTrade, SymbolRules,
    TimeInForce, filters,
};
use crate::execution::live::{LiveCommand, LiveEvent};
use crate::execution::{Fill, Order, OrderKind, OrderStatus, Side};
use crate::market_data::{SymbolId, SymbolInfo};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;

/// One order working on an exchange.
#[derive(Debug, Clone)]
pub(super) struct LiveOrder {
    pub order: Order,
    pub venue: ExchangeId,
    pub client_id: String,
    /// A stop held by the host, not yet sent.
    pub held_stop: bool,
    /// The latest state the exchange reported while some of its filled quantity is not
    /// booked yet (a report without the trades' prices and fees): booked from the
    /// exchange's trade list, then this state (a final status) applies.
    pub reported: Option<ExchangeOrder>,
    /// The trades of this order were asked of the exchange and are not in yet.
    pub fetching: bool,
}

/// Live-trading state of the core.
#[derive(Default)]
pub(super) struct LiveState {
    routes: HashMap<ExchangeId, mpsc::UnboundedSender<LiveCommand>>,
    rules: HashMap<(ExchangeId, String), SymbolRules>,
    pub open: BTreeMap<u64, LiveOrder>,
    by_client: HashMap<String, u64>,
    outbox: Vec<(ExchangeId, LiveCommand)>,
    pub balances: HashMap<ExchangeId, Vec<Balance>>,
    pub status: HashMap<ExchangeId, (bool, String)>,
    prefix: String,
    /// The kill switch: why trading is halted.
    pub halted: Option<String>,
}

impl LiveState {
    /// The client order id of a host order: the store's prefix plus the order id, at most
    /// 32 characters of `[a-z0-9]`, accepted by every venue.
    fn client_id(&self, order_id: u64) -> String {
        format!("{}{order_id}", self.prefix)
    }
}

impl Core {
    /// Connect a venue's router. Orders restored from the store for that venue are handed
    /// to it for reconciliation.
    pub fn attach_venue(&mut self, venue: ExchangeId, tx: mpsc::UnboundedSender<LiveCommand>) {
        for lo in self.live.open.values().filter(|o| o.venue == venue && !o.held_stop) {
            let symbol = self.symbol_name(lo.order.symbol);
            let _ = tx.send(LiveCommand::Track { order_id: lo.order.id, symbol, client_id: lo.client_id.clone() });
        }
        self.live.routes.insert(venue, tx);
    }

    /// The client-order-id prefix of this host's database.
    pub fn client_id_prefix(&self) -> String {
        self.live.prefix.clone()
    }

    pub(super) fn init_live(&mut self, prefix: String) {
        self.live.prefix = prefix;
    }

    /// Exchanges used by configured instances.
    pub fn live_venues(&self) -> Vec<ExchangeId> {
        let mut v: Vec<ExchangeId> = self.config.strategies.iter().flat_map(|s| s.exchanges()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The pair as its exchange names it (`BTCUSDT` for `bybit:BTCUSDT`).
    fn symbol_name(&self, id: SymbolId) -> String {
        self.symbols.read().ok().and_then(|t| t.info(id).map(|i| i.pair().to_string())).unwrap_or_default()
    }

    /// The exchange an instance's order on `symbol` goes to; `None` for paper.
    pub(super) fn order_exchange(&self, instance: &str, symbol: SymbolId) -> Option<ExchangeId> {
        let config = self.config.strategies.iter().find(|s| s.id == instance)?;
        config.exchange_for(self.symbols.read().ok()?.info(symbol)?)
    }

    /// An order restored from the store belongs to a live venue: track it there.
    pub(super) fn restore_live_order(&mut self, order: Order, venue: ExchangeId) {
        let held_stop = matches!(order.kind, OrderKind::StopMarket(_));
        let client_id = self.live.client_id(order.id);
        self.live.by_client.insert(client_id.clone(), order.id);
        self.live
            .open
            .insert(order.id, LiveOrder { order, venue, client_id, held_stop, reported: None, fetching: false });
    }

    /// Send a risk-checked order of a live instance: filters, journal, then the router.
    pub(super) fn place_live(&mut self, mut order: Order, venue: ExchangeId, depth: u8) {
        let name = self.symbol_name(order.symbol);
        if let Err(reason) = self.prepare_live(&mut order, venue, &name) {
            order.status = OrderStatus::Rejected;
            order.reason = Some(reason);
            self.record_order_result(order, Vec::new(), depth);
            return;
        }
        let client_id = self.live.client_id(order.id);
        let held_stop = matches!(order.kind, OrderKind::StopMarket(_));
        self.live.by_client.insert(client_id.clone(), order.id);
        self.live.open.insert(
            order.id,
            LiveOrder {
                order: order.clone(),
                venue,
                client_id: client_id.clone(),
                held_stop,
                reported: None,
                fetching: false,
            },
        );
        if !held_stop {
            crate::connectors::latency::stage("2 strategy decided, order checked");
            self.queue_send(order.id);
            if let Err(reason) = self.journal_order(&order) {
                self.live
                    .outbox
                    .retain(|(_, c)| !matches!(c, LiveCommand::Place { order_id, .. } if *order_id == order.id));
                self.live.open.remove(&order.id);
                order.status = OrderStatus::Rejected;
                order.reason = Some(reason);
                self.record_order_result(order, Vec::new(), depth);
                return;
            }
            // Written: it may leave now, without waiting for the rest of this event's batch.
            self.send_outbox();
        }
        self.record_order_result(order, Vec::new(), depth);
    }

    /// Write one order row in its own transaction (the rest of the batch follows at the
    /// end of the event): an order reaches an exchange only once it is on disk.
    fn journal_order(&mut self, order: &Order) -> Result<(), String> {
        let mut one = crate::store::Batch::default();
        one.orders.push(order.clone());
        let table = self.symbols.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.store.write(&one, &table).map_err(|e| {
            tracing::error!(order_id = order.id, error = %e, "cannot journal an exchange order; not sending it");
            format!("not sent: the order could not be written to the database ({e})")
        })
    }

    fn prepare_live(&self, order: &mut Order, venue: ExchangeId, name: &str) -> Result<(), String> {
        if let Some(why) = &self.live.halted {
            return Err(format!("trading halted: {why}"));
        }
        if !self.live.routes.contains_key(&venue) {
            return Err(format!("venue {venue} is not connected"));
        }
        let rules = self
            .live
            .rules
            .get(&(venue, name.to_string()))
            .ok_or_else(|| format!("{venue} has not reported the trading rules of {name} yet"))?;
        let mut req = self.request_for(order, name, String::new());
        let last = self.last_prices.get(order.symbol.0 as usize).copied().flatten();
        filters::apply(rules, &mut req, last).map_err(|e| e.to_string())?;
        order.qty = req.quantity;
        if let (OrderKind::Limit(_), Some(p)) = (order.kind, req.price) {
            order.kind = OrderKind::Limit(p);
        }
        Ok(())
    }

    fn request_for(&self, order: &Order, name: &str, client_order_id: String) -> OrderRequest {
        let (order_type, price) = match order.kind {
            OrderKind::Market | OrderKind::StopMarket(_) => (OrderType::Market, None),
            OrderKind::Limit(p) => (OrderType::Limit, Some(p)),
        };
        OrderRequest {
            symbol: name.to_string(),
            side: order.side,
            order_type,
            quantity: order.qty - order.filled,
            price,
            time_in_force: TimeInForce::Gtc,
            client_order_id,
            reduce_only: false,
        }
    }

    /// Queue the order for sending once the batch holding it is written.
    fn queue_send(&mut self, order_id: u64) {
        let Some(lo) = self.live.open.get(&order_id) else { return };
        let name = self.symbol_name(lo.order.symbol);
        let request = self.request_for(&lo.order, &name, lo.client_id.clone());
        self.live.outbox.push((lo.venue, LiveCommand::Place { order_id, request }));
    }

    /// Cancel a live order of an instance. Held stops cancel at once.
    pub(super) fn cancel_live(&mut self, order_id: u64, depth: u8) -> bool {
        let Some(lo) = self.live.open.get(&order_id).cloned() else { return false };
        if lo.held_stop {
            self.live.open.remove(&order_id);
            self.live.by_client.remove(&lo.client_id);
            let mut order = lo.order;
            order.status = OrderStatus::Canceled;
            self.record_order_result(order, Vec::new(), depth);
            return true;
        }
        let symbol = self.symbol_name(lo.order.symbol);
        self.live.outbox.push((lo.venue, LiveCommand::Cancel { order_id, symbol, client_id: lo.client_id }));
        true
    }

    /// A trade on a symbol: held stops it reaches are sent as market orders.
    pub(super) fn trigger_live_stops(&mut self, symbol: SymbolId, price: Decimal) {
        let due: Vec<u64> = self
            .live
            .open
            .values()
            .filter(|o| o.held_stop && o.order.symbol == symbol)
            .filter(|o| match (o.order.kind, o.order.side) {
                (OrderKind::StopMarket(stop), Side::Sell) => price <= stop,
                (OrderKind::StopMarket(stop), Side::Buy) => price >= stop,
                _ => false,
            })
            .map(|o| o.order.id)
            .collect();
        for id in due {
            if let Some(lo) = self.live.open.get_mut(&id) {
                lo.held_stop = false;
                tracing::info!(order_id = id, venue = %lo.venue, %price, "stop reached: sending it as a market order");
            }
            // The stop's row was written when it was placed.
            self.queue_send(id);
        }
        self.send_outbox();
    }

    /// Hand queued commands to the routers (called after each flush).
    pub(super) fn send_outbox(&mut self) {
        if !self.live.outbox.is_empty() {
            crate::connectors::latency::stage("3 journaled (SQLite commit)");
        }
        for (venue, cmd) in std::mem::take(&mut self.live.outbox) {
            let refused = match self.live.routes.get(&venue) {
                Some(tx) => tx.send(cmd).err().map(|e| e.0),
                None => Some(cmd),
            };
            if let Some(LiveCommand::Place { order_id, .. }) = refused {
                self.refuse(order_id, format!("venue {venue} is not connected"));
            }
        }
    }

    fn refuse(&mut self, order_id: u64, reason: String) {
        self.end_unsent(order_id, OrderStatus::Rejected, reason);
    }

    /// An order that never reached the exchange ends with `status`.
    fn end_unsent(&mut self, order_id: u64, status: OrderStatus, reason: String) {
        if self.live.open.get(&order_id).is_some_and(|lo| lo.order.filled > Decimal::ZERO) {
            // The exchange reported fills: it has the order, whatever the router concluded.
            tracing::error!(order_id, %reason, "an order with fills reported as never sent; keeping it until the exchange says how it ended");
            return;
        }
        let Some(lo) = self.live.open.remove(&order_id) else { return };
        self.live.by_client.remove(&lo.client_id);
        let mut order = lo.order;
        order.status = status;
        order.reason = Some(reason);
        self.record_order_result(order, Vec::new(), 0);
    }

    /// What a router reported.
    pub fn on_live(&mut self, ev: LiveEvent) {
        match ev {
            LiveEvent::Rules { venue, rules } => {
                for r in rules {
                    self.live.rules.insert((venue, r.symbol.clone()), r);
                }
            }
            LiveEvent::Accepted { venue: _, order_id, order } => self.apply_exchange_order(order_id, &order, None),
            LiveEvent::Withdrawn { venue, order_id } => {
                tracing::info!(%venue, order_id, "order canceled before it was sent");
                self.end_unsent(order_id, OrderStatus::Canceled, "canceled before it was sent to the exchange".into());
            }
            LiveEvent::Refused { venue, order_id, reason } => {
                tracing::warn!(%venue, order_id, %reason, "order refused");
                self.refuse(order_id, reason);
            }
            LiveEvent::Update { venue: _, update } => {
                if let Some(&order_id) = self.live.by_client.get(&update.order.client_order_id) {
                    self.apply_exchange_order(order_id, &update.order, update.fill.as_ref());
                }
            }
            LiveEvent::Fills { venue: _, client_id, fills } => {
                if let Some(&order_id) = self.live.by_client.get(&client_id) {
                    self.apply_missed_fills(order_id, &fills);
                    self.settle_reported(order_id, false);
                }
            }
            LiveEvent::TradesMissing { venue, client_id } => {
                if let Some(&order_id) = self.live.by_client.get(&client_id) {
                    tracing::warn!(%venue, order_id, "the exchange did not list all trades of an order");
                    self.settle_reported(order_id, true);
                }
            }
            LiveEvent::Balances { venue, balances } => {
                self.live.balances.insert(venue, balances);
            }
            LiveEvent::Ready { venue, up, detail } => {
                if up {
                    tracing::info!(%venue, %detail, "venue ready: trading");
                } else {
                    tracing::warn!(%venue, %detail, "venue down: orders wait for reconciliation");
                }
                self.publish("venue", || serde_json::json!({ "venue": venue, "up": up, "detail": detail }));
                self.live.status.insert(venue, (up, detail));
            }
        }
    }

    fn make_fill(
        &self,
        order: &Order,
        info: &SymbolInfo,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        fee_asset: &str,
    ) -> Fill {
        let mut fill = Fill::of(order, price, qty, Decimal::ZERO, self.now_ms);
        if fee_asset.eq_ignore_ascii_case(&info.quote) {
            fill.fee = fee;
        } else if fee_asset.eq_ignore_ascii_case(&info.base) {
            // Taken out of the base asset: the account holds that much less of it.
            fill.fee = fee * price;
            fill.fee_base = fee;
        }
        fill
    }

    /// Apply the exchange's view of an order: a fill beyond what is recorded, and its status.
    ///
    /// Only a trade with its price and fee is booked. A report of filled quantity without
    /// them (a REST answer, an order snapshot, KuCoin's match without a fee) asks the
    /// exchange for the order's trades instead, and a final status waits until they are
    /// booked: booking from the totals would lose the fee and average the prices.
    fn apply_exchange_order(&mut self, order_id: u64, ex: &ExchangeOrder, fill: Option<&OwnTrade>) {
        let Some(lo) = self.live.open.get(&order_id).cloned() else { return };
        let Some(info) = self.info(lo.order.symbol).cloned() else { return };
        let mut order = lo.order.clone();
        let mut fills = Vec::new();
        let delta = ex.filled_quantity - order.filled;
        let trade = fill.filter(|f| f.quantity > Decimal::ZERO && !f.fee_asset.is_empty());
        if delta > Decimal::ZERO
            && let Some(t) = trade
        {
            let qty = t.quantity.min(delta);
            let fee = t.fee * (qty / t.quantity);
            let mut f = self.make_fill(&order, &info, t.price, qty, fee, &t.fee_asset);
            if let Some(acc) = self.venue.account_mut(&order.instance) {
                f.realized_pnl = acc.apply(&info, &f);
            }
            order.filled += qty;
            fills.push(f);
        }
        let unbooked = ex.filled_quantity > order.filled;
        let mut status = match ex.status {
            ExchangeOrderStatus::New | ExchangeOrderStatus::PartiallyFilled => OrderStatus::New,
            ExchangeOrderStatus::Filled => OrderStatus::Filled,
            ExchangeOrderStatus::Canceled | ExchangeOrderStatus::Expired => OrderStatus::Canceled,
            ExchangeOrderStatus::Rejected => OrderStatus::Rejected,
        };
        if unbooked {
            // Final once its trades are booked.
            status = OrderStatus::New;
            if !lo.fetching {
                self.fetch_trades(&lo, ex);
            }
        }
        if let Some(l) = self.live.open.get_mut(&order_id) {
            let newer = l.reported.as_ref().is_none_or(|r| ex.filled_quantity >= r.filled_quantity);
            if unbooked && newer {
                l.reported = Some(ex.clone());
            }
            l.fetching |= unbooked;
        }
        order.status = status;
        if order.status == OrderStatus::Canceled && ex.status == ExchangeOrderStatus::Expired {
            order.reason = Some("expired on the exchange".into());
        }
        if fills.is_empty() && order.status == lo.order.status {
            return;
        }
        if order.status == OrderStatus::New {
            if let Some(l) = self.live.open.get_mut(&order_id) {
                l.order = order.clone();
            }
        } else {
            self.live.open.remove(&order_id);
            self.live.by_client.remove(&lo.client_id);
        }
        self.record_order_result(order, fills, 0);
    }

    /// Ask the order's venue for its trades (their prices and fees).
    fn fetch_trades(&mut self, lo: &LiveOrder, ex: &ExchangeOrder) {
        if let Some(tx) = self.live.routes.get(&lo.venue) {
            let _ = tx.send(LiveCommand::FetchTrades {
                symbol: self.symbol_name(lo.order.symbol),
                client_id: lo.client_id.clone(),
                exchange_order_id: ex.order_id.clone(),
                filled: ex.filled_quantity,
            });
        }
    }

    /// After trades were booked (or could not be had): apply the reported state they
    /// were waiting for. `fallback`: the trades are not to be had; book what is left from
    /// the reported totals (average price, no fee), as the exchange's books hold it.
    fn settle_reported(&mut self, order_id: u64, fallback: bool) {
        let Some(lo) = self.live.open.get_mut(&order_id) else { return };
        lo.fetching = false;
        let Some(reported) = lo.reported.take() else { return };
        let (left, instance, symbol) =
            (reported.filled_quantity - lo.order.filled, lo.order.instance.clone(), lo.order.symbol);
        if left > Decimal::ZERO && !fallback {
            // Still short (the list lagged the report): the next report asks again.
            lo.reported = Some(reported);
            return;
        }
        if left > Decimal::ZERO {
            tracing::warn!(order_id, %instance, %left, "the exchange's trades for this order are not to be had: booking the rest at its average price without a fee");
            let price = reported.average_price().or(self.last_price(symbol)).unwrap_or_default();
            let trade = OwnTrade {
                exchange: reported.exchange,
                trade_id: String::new(),
                order_id: reported.order_id.clone(),
                client_order_id: Some(reported.client_order_id.clone()),
                symbol: reported.symbol.clone(),
                side: reported.side,
                price,
                quantity: left,
                fee: Decimal::ZERO,
                fee_asset: "-".into(),
                is_maker: false,
                time_ms: reported.updated_ms,
            };
            self.apply_exchange_order(order_id, &reported, Some(&trade));
        } else {
            self.apply_exchange_order(order_id, &reported, None);
        }
    }

    /// Fills listed by the exchange for an order (reconciliation): apply the ones beyond
    /// the quantity already recorded, in order.
    fn apply_missed_fills(&mut self, order_id: u64, fills: &[OwnTrade]) {
        let Some(lo) = self.live.open.get(&order_id).cloned() else { return };
        let Some(info) = self.info(lo.order.symbol).cloned() else { return };
        let mut order = lo.order.clone();
        let mut seen = Decimal::ZERO;
        let mut out = Vec::new();
        for t in fills.iter().filter(|t| t.quantity > Decimal::ZERO) {
            let end = seen + t.quantity;
            if end > order.filled {
                let qty = end - order.filled.max(seen);
                let fee = t.fee * (qty / t.quantity);
                let mut f = self.make_fill(&order, &info, t.price, qty, fee, &t.fee_asset);
                if let Some(acc) = self.venue.account_mut(&order.instance) {
                    f.realized_pnl = acc.apply(&info, &f);
                }
                order.filled += qty;
                out.push(f);
            }
            seen = end;
        }
        if out.is_empty() {
            return;
        }
        tracing::info!(order_id, fills = out.len(), "fills missed while disconnected applied");
        if let Some(l) = self.live.open.get_mut(&order_id) {
            l.order = order.clone();
        }
        self.record_order_result(order, out, 0);
    }

    /// Kill switch: halt new orders everywhere, cancel every open order (paper and live).
    pub fn kill_switch(&mut self, reason: &str) -> usize {
        self.live.halted = Some(reason.to_string());
        if let Err(e) = self.store.set_meta("kill_switch", reason) {
            tracing::error!(error = %e, "could not persist the kill switch");
        }
        tracing::error!(%reason, "kill switch: trading halted, canceling open orders");
        let mut canceled = 0;
        let paper: Vec<u64> = crate::execution::Venue::open_orders(&self.venue).iter().map(|o| o.id).collect();
        for id in paper {
            if let Some(o) = crate::execution::Venue::cancel(&mut self.venue, id) {
                canceled += 1;
                self.record_order_result(o, Vec::new(), 0);
            }
        }
        canceled += self.cancel_all_engine_orders();
        let held: Vec<u64> = self.live.open.values().filter(|o| o.held_stop).map(|o| o.order.id).collect();
        for id in held {
            canceled += usize::from(self.cancel_live(id, 0));
        }
        canceled += self.live.open.len();
        for tx in self.live.routes.values() {
            let _ = tx.send(LiveCommand::CancelAll);
        }
        self.publish("kill_switch", || serde_json::json!({ "halted": true, "reason": reason }));
        canceled
    }

    /// On exit (Ctrl-C / SIGTERM): send no new exchange order, cancel every open one and
    /// hold no more stops. Returns how many were open, and one receiver per venue answered
    /// once that venue has no request on its way (placements answered, cancels done).
    /// Paper orders stay (they are recovered on restart).
    pub fn cancel_live_orders_on_exit(&mut self) -> (usize, Vec<tokio::sync::oneshot::Receiver<()>>) {
        // In memory only: a restart trades again (the kill switch proper is persisted).
        self.live.halted.get_or_insert_with(|| "the host is shutting down".into());
        let n = self.live.open.len();
        let mut drained = Vec::new();
        for tx in self.live.routes.values() {
            if n > 0 {
                let _ = tx.send(LiveCommand::CancelAll);
            }
            let (done, rx) = tokio::sync::oneshot::channel();
            if tx.send(LiveCommand::Drained(done)).is_ok() {
                drained.push(rx);
            }
        }
        (n, drained)
    }

    /// Lift the kill switch.
    pub fn resume_trading(&mut self) {
        if self.live.halted.take().is_some() {
            if let Err(e) = self.store.set_meta("kill_switch", "") {
                tracing::error!(error = %e, "could not persist lifting the kill switch");
            }
            tracing::warn!("kill switch lifted: trading resumes");
            self.publish("kill_switch", || serde_json::json!({ "halted": false }));
        }
    }

    /// The kill switch and each venue's state, for `/api/v1/risk`.
    pub fn risk_view(&self) -> serde_json::Value {
        let venues: Vec<serde_json::Value> = self
            .live_venues()
            .into_iter()
            .map(|v| {
                let (up, detail) = self.live.status.get(&v).cloned().unwrap_or((false, "connecting".into()));
                let open = self.live.open.values().filter(|o| o.venue == v).count();
                serde_json::json!({ "venue": v, "ready": up, "detail": detail, "open_orders": open,
                    "balances": self.live.balances.get(&v) })
            })
            .collect();
        serde_json::json!({
            "halted": self.live.halted.is_some(),
            "reason": self.live.halted,
            "venues": venues,
        })
    }

    /// Why trading is halted, if it is.
    pub fn halted(&self) -> Option<&str> {
        self.live.halted.as_deref()
    }
}
