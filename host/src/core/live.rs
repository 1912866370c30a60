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
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// How often its trades were asked for again since the last report.
    pub fetches: u8,
    /// The number of the trade list asked of the exchange and not in yet (answers to
    /// older asks only book); 0: none.
    pub fetch_seq: u64,
    /// Trade ids booked, and the quantity booked without a known id (an order restored
    /// from the store with fills, or booked from totals): a listed trade not booked by id
    /// counts against that quantity first, oldest first.
    pub booked: HashSet<String>,
    pub unknown_booked: Decimal,
    /// Price times quantity of what was booked, when all of it is known.
    pub booked_quote: Option<Decimal>,
    /// Trades the exchange reported without a fee (KuCoin's matches), for their prices if
    /// the trade list never has them.
    pub feeless: Vec<OwnTrade>,
}

impl LiveOrder {
    /// Its trades were asked of the exchange and are not in yet.
    fn fetching(&self) -> bool {
        self.fetch_seq != 0
    }

    /// The most this order can have filled: its quantity, or more if the exchange says so
    /// (a Gate.io market buy is sent in quote and can fill a little more base).
    fn most_filled(&self, reported: Decimal) -> Decimal {
        let saved = self.reported.as_ref().map_or(Decimal::ZERO, |r| r.filled_quantity);
        self.order.qty.max(reported).max(saved)
    }

    /// A new order, or one restored from the store (with what it filled before).
    pub fn new(order: Order, venue: ExchangeId, client_id: String, held_stop: bool) -> LiveOrder {
        let unknown_booked = order.filled;
        LiveOrder {
            order,
            venue,
            client_id,
            held_stop,
            reported: None,
            fetches: 0,
            fetch_seq: 0,
            booked: HashSet::new(),
            unknown_booked,
            booked_quote: unknown_booked.is_zero().then_some(Decimal::ZERO),
            feeless: Vec::new(),
        }
    }
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
    /// The last trade-list ask's number.
    fetch_seq: u64,
    /// Prices of assets fees are paid in, (venue, asset, quote) -> price; and those asked
    /// for.
    fee_prices: HashMap<(ExchangeId, String, String), Decimal>,
    fee_asked: HashSet<(ExchangeId, String, String)>,
    /// Fees paid in a third asset before its price was known: counted in their
    /// position's fees once it is.
    unvalued: Vec<UnvaluedFee>,
}

/// Most fees kept waiting for their asset's price.
const MAX_UNVALUED: usize = 10_000;

/// A fee paid in a third asset whose price was not known when it was booked.
#[derive(Debug, Clone)]
struct UnvaluedFee {
    venue: ExchangeId,
    asset: String,
    quote: String,
    instance: String,
    symbol: SymbolId,
    order_id: u64,
    amount: Decimal,
}

/// The venue's own token an account may pay its fees in, at a discount (Binance BNB,
/// KuCoin KCS, Gate.io GT): its price is read as soon as the venue's rules are in, so the
/// first fill's fee is valued.
fn fee_token(venue: ExchangeId) -> Option<&'static str> {
    match venue {
        ExchangeId::Binance => Some("BNB"),
        ExchangeId::Kucoin => Some("KCS"),
        ExchangeId::Gateio => Some("GT"),
        ExchangeId::Bybit => None,
    }
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
        self.live.open.insert(order.id, LiveOrder::new(order, venue, client_id, held_stop));
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
        self.live.open.insert(order.id, LiveOrder::new(order.clone(), venue, client_id.clone(), held_stop));
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
        if self.live.open.get(&order_id).is_some_and(|lo| lo.reported.is_some()) {
            // The exchange reported fills whose trades are being listed: that settles it.
            tracing::error!(order_id, %reason, "an order with fills reported as never sent; its trades decide how it ended");
            return;
        }
        let status = match self.live.open.get(&order_id) {
            // It filled partly: it was on the exchange, and it is over.
            Some(lo) if lo.order.filled > Decimal::ZERO && status == OrderStatus::Rejected => OrderStatus::Canceled,
            _ => status,
        };
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
                if let Some(token) = fee_token(venue) {
                    // The quotes of the markets the instances trade on this venue.
                    let quotes: HashSet<String> = match self.symbols.read() {
                        Ok(t) => t
                            .iter()
                            .filter(|(_, i)| self.config.strategies.iter().any(|s| s.exchange_for(i) == Some(venue)))
                            .map(|(_, i)| i.quote.clone())
                            .collect(),
                        Err(_) => HashSet::new(),
                    };
                    for quote in quotes.into_iter().filter(|q| q != token) {
                        self.ask_fee_price(venue, token, &quote);
                    }
                }
            }
            LiveEvent::AssetPrice { venue, asset, quote, price } => {
                // Fees booked before the price was known count now, in their positions.
                let (due, keep) = std::mem::take(&mut self.live.unvalued)
                    .into_iter()
                    .partition(|u| u.venue == venue && u.asset == asset && u.quote == quote);
                self.live.unvalued = keep;
                for u in due {
                    let value = u.amount * price;
                    if let Some(pos) = self.venue.account_mut(&u.instance).and_then(|a| a.positions.get_mut(&u.symbol))
                    {
                        pos.fees += value;
                        self.dirty_accounts.insert(u.instance.clone());
                        tracing::info!(%venue, order_id = u.order_id, fee = %u.amount, asset = %u.asset, %value,
                            "a fee booked before its asset's price was known now counts in the position's fees");
                    }
                }
                self.live.fee_prices.insert((venue, asset, quote), price);
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
                // A reconciliation's list: book it; settle unless a list asked for is due.
                if let Some(&order_id) = self.live.by_client.get(&client_id) {
                    self.apply_missed_fills(order_id, &fills);
                    if self.live.open.get(&order_id).is_some_and(|l| !l.fetching()) {
                        self.settle_reported(order_id, false);
                    }
                }
            }
            LiveEvent::Listed { venue, client_id, seq, fills, complete } => {
                if let Some(&order_id) = self.live.by_client.get(&client_id) {
                    self.apply_missed_fills(order_id, &fills);
                    // Only the answer to the latest ask settles the order.
                    if self.live.open.get(&order_id).is_some_and(|l| l.fetching() && l.fetch_seq == seq) {
                        if !complete {
                            tracing::warn!(%venue, order_id, "the exchange did not list all trades of an order");
                        }
                        self.settle_reported(order_id, !complete);
                    }
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

    /// A fee paid in a third asset the instance holds itself (a BTCUSDT fee in BNB while it
    /// also trades BNBUSDT there) leaves that much less of it, as on the exchange: out of
    /// the balance, and out of the long of that asset's market on the venue.
    fn take_held_fee(&mut self, instance: &str, venue: ExchangeId, asset: &str, amount: Decimal) {
        let asset = asset.to_ascii_uppercase();
        let market = self.symbols.read().ok().and_then(|t| {
            let trades_it = |i: &SymbolInfo| {
                self.config.strategies.iter().any(|s| s.id == instance && s.exchange_for(i) == Some(venue))
            };
            t.iter().find(|(_, i)| i.base == asset && trades_it(i)).map(|(id, _)| id)
        });
        let Some(acc) = self.venue.account_mut(instance) else { return };
        let Some(balance) = acc.balances.get_mut(&asset) else { return };
        *balance -= amount;
        if let Some(pos) = market.and_then(|id| acc.positions.get_mut(&id)).filter(|p| p.qty > Decimal::ZERO) {
            pos.qty -= amount.min(pos.qty);
        }
        self.dirty_accounts.insert(instance.to_string());
    }

    /// Keep the price of `asset` in `quote` on `venue` coming (once asked, the router
    /// reads it again every minute).
    fn ask_fee_price(&mut self, venue: ExchangeId, asset: &str, quote: &str) {
        let key = (venue, asset.to_ascii_uppercase(), quote.to_string());
        if self.live.fee_asked.contains(&key) {
            return;
        }
        if let Some(tx) = self.live.routes.get(&venue)
            && tx.send(LiveCommand::PriceAsset { asset: key.1.clone(), quote: key.2.clone() }).is_ok()
        {
            self.live.fee_asked.insert(key);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn make_fill(
        &mut self,
        venue: ExchangeId,
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
        } else if !fee.is_zero() && !fee_asset.is_empty() && fee_asset != "-" {
            // A third asset (BNB): valued at its price in the quote, paid from a balance
            // the instance's account does not keep.
            fill.fee_outside = true;
            let key = (venue, fee_asset.to_ascii_uppercase(), info.quote.clone());
            match self.live.fee_prices.get(&key) {
                Some(p) => fill.fee = fee * p,
                None => {
                    tracing::warn!(%venue, order_id = order.id, %fee, fee_asset, quote = %info.quote,
                        "no price yet for the asset this fee was paid in: it counts in the position's fees once read");
                    self.ask_fee_price(venue, fee_asset, &info.quote);
                    if self.live.unvalued.len() >= MAX_UNVALUED {
                        // An asset the venue never prices (Gate.io's POINT): keep the latest.
                        self.live.unvalued.remove(0);
                    }
                    self.live.unvalued.push(UnvaluedFee {
                        venue,
                        asset: key.1,
                        quote: key.2,
                        instance: order.instance.clone(),
                        symbol: order.symbol,
                        order_id: order.id,
                        amount: fee,
                    });
                }
            }
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
        let fill = fill.filter(|f| f.quantity > Decimal::ZERO);
        let cap = lo.most_filled(ex.filled_quantity);
        match fill {
            Some(t) if !t.fee_asset.is_empty() => {
                // A trade by its id (the order state sent with it can lag: Gate.io's); one
                // without an id by the cumulative quantity.
                let qty = if t.trade_id.is_empty() {
                    t.quantity.min(delta)
                } else if lo.booked.contains(&t.trade_id) {
                    Decimal::ZERO
                } else if lo.unknown_booked > Decimal::ZERO && delta <= Decimal::ZERO {
                    // Already in what was booked without ids (from totals): count it there.
                    if let Some(l) = self.live.open.get_mut(&order_id) {
                        l.unknown_booked -= l.unknown_booked.min(t.quantity);
                        l.booked.insert(t.trade_id.clone());
                    }
                    Decimal::ZERO
                } else {
                    t.quantity.min(cap - order.filled)
                };
                if qty > Decimal::ZERO {
                    fills.push(self.book(order_id, &mut order, &info, t, qty));
                }
            }
            Some(t) if !t.trade_id.is_empty() && !lo.feeless.iter().any(|f| f.trade_id == t.trade_id) => {
                if let Some(l) = self.live.open.get_mut(&order_id) {
                    l.feeless.push(t.clone());
                }
            }
            _ => {}
        }
        // What the exchange said filled, by the latest report of the two.
        let target = lo.reported.as_ref().map_or(ex.filled_quantity, |r| r.filled_quantity.max(ex.filled_quantity));
        let unbooked = target > order.filled;
        // The exchange status that decides: this report's, or a final one saved before its
        // trades came.
        let mut decided = ex.status;
        if unbooked {
            // Final once its trades are booked. The private stream normally brings them
            // within milliseconds: the list is asked for only if it has not after a grace.
            decided = ExchangeOrderStatus::PartiallyFilled;
            if !lo.fetching() {
                let latest = lo.reported.as_ref().filter(|r| r.filled_quantity > ex.filled_quantity).unwrap_or(ex);
                self.fetch_trades(&lo, latest, FETCH_GRACE_MS);
            }
        } else if let Some(r) = lo.reported.as_ref().filter(|r| r.filled_quantity <= order.filled) {
            // Everything reported is booked: a final status reported before its trades
            // came applies now, and the list is not needed.
            if ex.status.is_open() && !r.status.is_open() {
                decided = r.status;
            }
            if let Some(l) = self.live.open.get_mut(&order_id) {
                l.reported = None;
                l.fetches = 0;
            }
            if lo.fetching() {
                self.forget_trades(&lo);
            }
        }
        if let Some(l) = self.live.open.get_mut(&order_id) {
            // Never back to a smaller quantity, nor from a final status to a working one.
            let newer = l.reported.as_ref().is_none_or(|r| {
                ex.filled_quantity > r.filled_quantity
                    || (ex.filled_quantity == r.filled_quantity && (r.status.is_open() || !ex.status.is_open()))
            });
            if unbooked && newer {
                l.reported = Some(ex.clone());
            }
        }
        order.status = exchange_status(decided);
        if decided == ExchangeOrderStatus::Expired {
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

    /// Ask the order's venue for its trades (their prices and fees), after `after_ms`.
    fn fetch_trades(&mut self, lo: &LiveOrder, ex: &ExchangeOrder, after_ms: u64) {
        self.live.fetch_seq += 1;
        let seq = self.live.fetch_seq;
        if let Some(l) = self.live.open.get_mut(&lo.order.id) {
            l.fetch_seq = seq;
        }
        if let Some(tx) = self.live.routes.get(&lo.venue) {
            let _ = tx.send(LiveCommand::FetchTrades {
                seq,
                symbol: self.symbol_name(lo.order.symbol),
                client_id: lo.client_id.clone(),
                exchange_order_id: ex.order_id.clone(),
                filled: ex.filled_quantity,
                after_ms,
            });
        }
    }

    /// The order's trades came by the stream: a list asked for is not needed any more.
    fn forget_trades(&mut self, lo: &LiveOrder) {
        if let Some(l) = self.live.open.get_mut(&lo.order.id) {
            l.fetch_seq = 0;
        }
        if let Some(tx) = self.live.routes.get(&lo.venue) {
            let _ = tx.send(LiveCommand::ForgetTrades { client_id: lo.client_id.clone() });
        }
    }

    /// Book `qty` of trade `t` (its fee prorated) on the order and its account.
    fn book(&mut self, order_id: u64, order: &mut Order, info: &SymbolInfo, t: &OwnTrade, qty: Decimal) -> Fill {
        let fee = if t.quantity.is_zero() { Decimal::ZERO } else { t.fee * (qty / t.quantity) };
        let venue = self.live.open.get(&order_id).map_or(t.exchange, |l| l.venue);
        let mut f = self.make_fill(venue, order, info, t.price, qty, fee, &t.fee_asset);
        if f.fee_outside {
            self.take_held_fee(&order.instance, venue, &t.fee_asset, fee);
        }
        let name = self.symbol_name(order.symbol);
        let rules = self.live.rules.get(&(venue, name)).cloned();
        if let Some(acc) = self.venue.account_mut(&order.instance) {
            f.realized_pnl = acc.apply(info, &f);
            // What fees taken in the base asset leave of a long below the smallest order the
            // venue takes cannot be sold: once a sell has sold all it asked, such a rest
            // makes the position flat (the balance keeps it).
            let sold_all = order.side == Side::Sell && order.filled + qty >= order.qty;
            if let (Some(rules), Some(pos)) = (rules, acc.positions.get_mut(&order.symbol))
                && sold_all
                && pos.qty > Decimal::ZERO
                && t.price > Decimal::ZERO
                && is_dust(&rules, pos.qty, t.price)
            {
                tracing::info!(order_id, instance = %order.instance, dust = %pos.qty, "a remainder too small to trade: the position counts as flat");
                pos.qty = Decimal::ZERO;
                pos.avg_price = Decimal::ZERO;
            }
        }
        order.filled += qty;
        if let Some(l) = self.live.open.get_mut(&order_id) {
            l.order.filled = order.filled;
            if t.trade_id.is_empty() {
                l.unknown_booked += qty;
            } else {
                l.booked.insert(t.trade_id.clone());
            }
            if let Some(q) = l.booked_quote.as_mut() {
                *q += t.price * qty;
            }
        }
        f
    }

    /// After trades were booked (or could not be had): apply the reported state they
    /// were waiting for. Still short, the trades are asked for again (three times at
    /// most); with `fallback` (they are not to be had) what is left is booked: the trades
    /// seen without a fee at their own prices, the rest at the price the reported totals
    /// give it, all without a fee, with a warning.
    fn settle_reported(&mut self, order_id: u64, fallback: bool) {
        let Some(lo) = self.live.open.get_mut(&order_id) else { return };
        lo.fetch_seq = 0;
        let Some(reported) = lo.reported.clone() else { return };
        let left = reported.filled_quantity - lo.order.filled;
        if left > Decimal::ZERO && !fallback && lo.fetches < 3 {
            lo.fetches += 1;
            let lo = lo.clone();
            self.fetch_trades(&lo, &reported, 0);
            return;
        }
        lo.reported = None;
        lo.fetches = 0;
        let lo = lo.clone();
        if left > Decimal::ZERO {
            let Some(info) = self.info(lo.order.symbol).cloned() else { return };
            tracing::warn!(order_id, instance = %lo.order.instance, %left, "the exchange's trades for this order are not to be had: booking the rest without a fee");
            let mut order = lo.order.clone();
            let mut fills = Vec::new();
            for t in lo.feeless.iter().filter(|t| !lo.booked.contains(&t.trade_id)) {
                let qty = t.quantity.min(reported.filled_quantity - order.filled);
                if qty > Decimal::ZERO {
                    fills.push(self.book(order_id, &mut order, &info, t, qty));
                }
            }
            let rest = reported.filled_quantity - order.filled;
            if rest > Decimal::ZERO {
                let booked_quote = self.live.open.get(&order_id).and_then(|l| l.booked_quote);
                let price = match (reported.filled_quote, booked_quote) {
                    (Some(total), Some(booked)) if total > booked => (total - booked) / rest,
                    _ => reported.average_price().or(self.last_price(order.symbol)).unwrap_or_default(),
                };
                let t = OwnTrade {
                    exchange: reported.exchange,
                    trade_id: String::new(),
                    order_id: reported.order_id.clone(),
                    client_order_id: Some(reported.client_order_id.clone()),
                    symbol: reported.symbol.clone(),
                    side: reported.side,
                    price,
                    quantity: rest,
                    fee: Decimal::ZERO,
                    fee_asset: "-".into(),
                    is_maker: false,
                    time_ms: reported.updated_ms,
                };
                fills.push(self.book(order_id, &mut order, &info, &t, rest));
            }
            if !fills.is_empty() {
                self.record_order_result(order, fills, 0);
            }
        }
        self.apply_exchange_order(order_id, &reported, None);
    }

    /// Trades listed by the exchange for an order (reconciliation, or asked for): book
    /// those not booked yet, oldest first; what was booked without a known id counts
    /// against the oldest of them first.
    fn apply_missed_fills(&mut self, order_id: u64, fills: &[OwnTrade]) {
        let Some(lo) = self.live.open.get(&order_id).cloned() else { return };
        let Some(info) = self.info(lo.order.symbol).cloned() else { return };
        let mut order = lo.order.clone();
        let mut unknown = lo.unknown_booked;
        let mut out = Vec::new();
        let cap = lo.most_filled(Decimal::ZERO);
        let mut list: Vec<&OwnTrade> = fills
            .iter()
            .filter(|t| t.quantity > Decimal::ZERO && (t.trade_id.is_empty() || !lo.booked.contains(&t.trade_id)))
            .collect();
        list.sort_by(|a, b| (a.time_ms, &a.trade_id).cmp(&(b.time_ms, &b.trade_id)));
        for t in list {
            let covered = unknown.min(t.quantity);
            unknown -= covered;
            let qty = (t.quantity - covered).min(cap - order.filled);
            if let Some(l) = self.live.open.get_mut(&order_id) {
                l.unknown_booked -= covered;
                if qty <= Decimal::ZERO && !t.trade_id.is_empty() {
                    l.booked.insert(t.trade_id.clone());
                }
            }
            if qty > Decimal::ZERO {
                out.push(self.book(order_id, &mut order, &info, t, qty));
            }
        }
        if out.is_empty() {
            return;
        }
        tracing::info!(order_id, fills = out.len(), "listed trades of an order booked");
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

/// How long the private stream has to bring the trades of a reported fill before the
/// host lists them over REST.
const FETCH_GRACE_MS: u64 = 1_000;

fn exchange_status(s: ExchangeOrderStatus) -> OrderStatus {
    match s {
        ExchangeOrderStatus::New | ExchangeOrderStatus::PartiallyFilled => OrderStatus::New,
        ExchangeOrderStatus::Filled => OrderStatus::Filled,
        ExchangeOrderStatus::Canceled | ExchangeOrderStatus::Expired => OrderStatus::Canceled,
        ExchangeOrderStatus::Rejected => OrderStatus::Rejected,
    }
}

/// Whether `qty` is less than the venue takes in one order at `price` (rounded down to
/// its lot, below its minimum quantity or notional).
fn is_dust(rules: &SymbolRules, qty: Decimal, price: Decimal) -> bool {
    let lots = crate::connectors::filters::round_to_step(qty, rules.lot_size, rust_decimal::RoundingStrategy::ToZero);
    lots.is_zero() || lots < rules.min_qty || lots * price < rules.min_notional
}

#[cfg(test)]
mod booking_tests {
    use super::*;
    use crate::connectors::{ExchangeOrderStatus, OrderType};
    use crate::execution::{OrderKind, Side};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A core tracking one live market buy of 0.03 BTCUSDT on Bybit (host order 1,
    /// exchange order "x1"), and what the core asks of Bybit's router.
    fn buying() -> (Core, mpsc::UnboundedReceiver<LiveCommand>) {
        let (mut core, id) = crate::core::test_core();
        let (tx, rx) = mpsc::unbounded_channel();
        core.live.routes.insert(ExchangeId::Bybit, tx);
        let order = Order {
            id: 1,
            instance: "live".into(),
            symbol: id,
            side: Side::Buy,
            kind: OrderKind::Market,
            qty: d("0.03"),
            filled: Decimal::ZERO,
            status: OrderStatus::New,
            reason: None,
            tag: String::new(),
            time_ms: 0,
        };
        core.venue.open_account(
            "live",
            crate::execution::Account::new([("USDT".to_string(), d("10000"))].into(), Decimal::ZERO),
        );
        core.record_order_result(order.clone(), Vec::new(), 0);
        core.live.by_client.insert("c1".into(), 1);
        core.live.open.insert(1, LiveOrder::new(order, ExchangeId::Bybit, "c1".into(), false));
        (core, rx)
    }

    fn report(filled: &str, status: ExchangeOrderStatus) -> ExchangeOrder {
        ExchangeOrder {
            exchange: ExchangeId::Bybit,
            order_id: "x1".into(),
            client_order_id: "c1".into(),
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            order_type: OrderType::Market,
            status,
            price: None,
            quantity: d("0.03"),
            filled_quantity: d(filled),
            filled_quote: None,
            updated_ms: 5,
        }
    }

    fn trade(id: &str, price: &str, fee: &str, fee_asset: &str) -> OwnTrade {
        OwnTrade {
            exchange: ExchangeId::Bybit,
            trade_id: id.into(),
            order_id: "x1".into(),
            client_order_id: Some("c1".into()),
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            price: d(price),
            quantity: d("0.01"),
            fee: d(fee),
            fee_asset: fee_asset.into(),
            is_maker: false,
            time_ms: 5,
        }
    }

    /// (price, qty, fee) of every fill booked, in order, and the order's status.
    fn booked(core: &mut Core) -> (Vec<(Decimal, Decimal, Decimal)>, String) {
        core.flush();
        let fills = core.store.trades(None, None, 100).unwrap().into_iter().map(|t| (t.price, t.qty, t.fee)).collect();
        let status = core.store.orders(10).unwrap().into_iter().find(|o| o.id == 1).unwrap().status;
        (fills, status)
    }

    #[test]
    fn trades_are_booked_once_each_by_id_whatever_order_they_are_listed_in() {
        let (mut core, mut rx) = buying();
        let (a, b, c) =
            (trade("a", "100", "0.5", "USDT"), trade("b", "101", "0.6", "USDT"), trade("c", "102", "0.7", "USDT"));
        core.apply_exchange_order(1, &report("0.01", ExchangeOrderStatus::PartiallyFilled), Some(&a));
        // The order's snapshot: filled, without its trades. Not booked from the totals:
        // the trades are asked for, and the order waits for them.
        core.apply_exchange_order(1, &report("0.03", ExchangeOrderStatus::Filled), None);
        assert!(matches!(rx.try_recv(), Ok(LiveCommand::FetchTrades { filled, .. }) if filled == d("0.03")));
        assert_eq!(booked(&mut core), (vec![(d("100"), d("0.01"), d("0.5"))], "NEW".to_string()));
        // Listed newest first with equal times (as Bybit does): each booked once, at its
        // own price and fee; then the order is final.
        let seq = core.live.open[&1].fetch_seq;
        let fills = vec![c, b, a.clone()];
        core.on_live(LiveEvent::Listed {
            venue: ExchangeId::Bybit,
            client_id: "c1".into(),
            seq,
            fills,
            complete: true,
        });
        let (fills, status) = booked(&mut core);
        assert_eq!(fills.len(), 3, "{fills:?}");
        assert_eq!(fills.iter().map(|f| f.2).sum::<Decimal>(), d("1.8"), "each fee once: {fills:?}");
        assert_eq!(fills.iter().map(|f| f.0 * f.1).sum::<Decimal>(), d("3.03"));
        assert_eq!(status, "FILLED");
        // The stream's copy of a trade already booked adds nothing.
        core.apply_exchange_order(1, &report("0.03", ExchangeOrderStatus::Filled), Some(&a));
        assert_eq!(booked(&mut core).0.len(), 3);
    }

    #[test]
    fn trades_never_listed_are_booked_at_their_own_prices_without_a_fee() {
        let (mut core, mut rx) = buying();
        // KuCoin-like matches: a price, no fee. Then the final status.
        for (id, price, filled) in [("m1", "100", "0.01"), ("m2", "110", "0.02")] {
            let t = trade(id, price, "0", "");
            core.apply_exchange_order(1, &report(filled, ExchangeOrderStatus::PartiallyFilled), Some(&t));
        }
        core.apply_exchange_order(1, &report("0.02", ExchangeOrderStatus::Canceled), None);
        assert!(matches!(rx.try_recv(), Ok(LiveCommand::FetchTrades { .. })), "one fetch for the order");
        assert!(rx.try_recv().is_err(), "asked once while it is on its way");
        assert_eq!(booked(&mut core), (vec![], "NEW".to_string()), "nothing booked without fees yet");
        // The exchange's list never has them.
        let seq = core.live.open[&1].fetch_seq;
        let (client_id, fills) = ("c1".to_string(), Vec::new());
        // An answer to an older ask changes nothing.
        let stale = LiveEvent::Listed {
            venue: ExchangeId::Bybit,
            client_id: client_id.clone(),
            seq: seq - 1,
            fills: fills.clone(),
            complete: false,
        };
        core.on_live(stale);
        assert_eq!(booked(&mut core), (vec![], "NEW".to_string()));
        core.on_live(LiveEvent::Listed { venue: ExchangeId::Bybit, client_id, seq, fills, complete: false });
        let (fills, status) = booked(&mut core);
        assert_eq!(fills, vec![(d("100"), d("0.01"), d("0")), (d("110"), d("0.01"), d("0"))]);
        assert_eq!(status, "CANCELED", "partly filled, then canceled");
    }

    /// A fee paid in BNB: counted in the fees at BNB's price in the quote once the router
    /// reports it (asked for when the first such fee comes without one; that fee counts in
    /// the position's fees when the price comes), never out of the instance's USDT or BTC.
    #[test]
    fn a_fee_paid_in_a_third_asset_is_valued_at_its_price() {
        let (mut core, mut rx) = buying();
        let (a, b) = (trade("a", "100", "0.002", "BNB"), trade("b", "100", "0.003", "BNB"));
        core.apply_exchange_order(1, &report("0.01", ExchangeOrderStatus::PartiallyFilled), Some(&a));
        assert!(
            matches!(rx.try_recv(), Ok(LiveCommand::PriceAsset { asset, quote }) if asset == "BNB" && quote == "USDT"),
            "BNB's price is asked for"
        );
        core.on_live(LiveEvent::AssetPrice {
            venue: ExchangeId::Bybit,
            asset: "BNB".into(),
            quote: "USDT".into(),
            price: d("600"),
        });
        core.apply_exchange_order(1, &report("0.02", ExchangeOrderStatus::PartiallyFilled), Some(&b));
        assert!(rx.try_recv().is_err(), "asked once");
        let fills = booked(&mut core).0;
        assert_eq!(fills, vec![(d("100"), d("0.01"), d("0")), (d("100"), d("0.01"), d("1.8"))]);
        let (id, acc) = (core.live.open[&1].order.symbol, core.venue.account_mut("live").unwrap());
        assert_eq!((acc.balance("USDT"), acc.balance("BTC")), (d("9998"), d("0.02")), "no balance paid the BNB");
        assert_eq!(
            (acc.positions[&id].qty, acc.positions[&id].fees),
            (d("0.02"), d("3.0")),
            "the first fee counts too, once priced: 0.002 and 0.003 BNB at 600"
        );
    }

    /// A BTCUSDT fee paid in BNB by an instance that also trades BNBUSDT on the venue: out
    /// of its BNB balance and its BNBUSDT long, as on the exchange.
    #[test]
    fn a_fee_in_an_asset_the_instance_holds_comes_out_of_it() {
        let (mut core, _rx) = buying();
        let toml = "version = 1\n[[strategy]]\nid = \"live\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\", \"BNBUSDT\"]\nvenue = \"bybit\"\n";
        core.config = crate::config::PluginsConfig::parse(toml, std::path::Path::new("p.toml"), &|_| None).unwrap();
        let bnb = core.symbols.write().unwrap().intern("BNBUSDT").unwrap();
        {
            let acc = core.venue.account_mut("live").unwrap();
            acc.balances.insert("BNB".into(), d("1"));
            acc.positions
                .insert(bnb, crate::execution::Position { qty: d("1"), avg_price: d("600"), ..Default::default() });
        }
        let price = LiveEvent::AssetPrice {
            venue: ExchangeId::Bybit,
            asset: "BNB".into(),
            quote: "USDT".into(),
            price: d("600"),
        };
        core.on_live(price);
        core.apply_exchange_order(
            1,
            &report("0.01", ExchangeOrderStatus::PartiallyFilled),
            Some(&trade("a", "100", "0.002", "BNB")),
        );
        let btc = core.live.open[&1].order.symbol;
        let acc = core.venue.account_mut("live").unwrap();
        assert_eq!((acc.balance("BNB"), acc.positions[&bnb].qty), (d("0.998"), d("0.998")), "the BNB paid");
        assert_eq!((acc.balance("USDT"), acc.positions[&btc].fees), (d("9999"), d("1.2")), "valued, not paid in USDT");
    }

    /// On a venue with a fee token (Binance: BNB), its price in the quotes of the host's
    /// markets there is asked for as soon as the rules are in, before any fill.
    #[test]
    fn the_fee_token_price_is_asked_for_when_the_rules_come() {
        let (mut core, _) = crate::core::test_core();
        let toml = "version = 1\n[[strategy]]\nid = \"live\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\nvenue = \"binance\"\n";
        core.config = crate::config::PluginsConfig::parse(toml, std::path::Path::new("p.toml"), &|_| None).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        core.live.routes.insert(ExchangeId::Binance, tx);
        // ETHUSDT is listed but not one of the host's markets: USDT once.
        let rules = vec![usdt_rules("BTCUSDT", "BTC"), usdt_rules("ETHUSDT", "ETH")];
        core.on_live(LiveEvent::Rules { venue: ExchangeId::Binance, rules: rules.clone() });
        assert!(
            matches!(rx.try_recv(), Ok(LiveCommand::PriceAsset { asset, quote }) if asset == "BNB" && quote == "USDT")
        );
        assert!(rx.try_recv().is_err());
        core.on_live(LiveEvent::Rules { venue: ExchangeId::Binance, rules });
        assert!(rx.try_recv().is_err(), "the router keeps it coming: not asked again");
    }

    /// A USDT market's rules: tick 0.01, lot and minimum 0.0001, minimum notional 5.
    fn usdt_rules(symbol: &str, base: &str) -> SymbolRules {
        SymbolRules {
            symbol: symbol.into(),
            venue_symbol: symbol.into(),
            base: base.into(),
            quote: "USDT".into(),
            tick_size: d("0.01"),
            lot_size: d("0.0001"),
            min_qty: d("0.0001"),
            max_qty: None,
            min_notional: d("5"),
            trading: true,
        }
    }

    #[test]
    fn a_remainder_too_small_to_trade_leaves_the_position_flat() {
        let (mut core, _rx) = buying();
        core.live.rules.insert((ExchangeId::Bybit, "BTCUSDT".into()), usdt_rules("BTCUSDT", "BTC"));
        // Bought 0.01 with 0.00001 BTC kept as the fee: 0.00999 held, sellable 0.0099.
        let buy = OwnTrade { quantity: d("0.01"), ..trade("b1", "60000", "0.00001", "BTC") };
        core.apply_exchange_order(1, &report("0.01", ExchangeOrderStatus::PartiallyFilled), Some(&buy));
        let id = core.live.open[&1].order.symbol;
        let position = |core: &mut Core| core.venue.account_mut("live").unwrap().positions[&id].qty;
        assert_eq!(position(&mut core), d("0.00999"));
        // A sell of the sellable part: 0.00009 BTC is left, too small to sell.
        let mut sell = core.live.open[&1].order.clone();
        sell.id = 2;
        sell.side = Side::Sell;
        sell.qty = d("0.0099");
        sell.filled = Decimal::ZERO;
        core.live.by_client.insert("c2".into(), 2);
        core.live.open.insert(2, LiveOrder::new(sell, ExchangeId::Bybit, "c2".into(), false));
        let t = OwnTrade { side: Side::Sell, quantity: d("0.0099"), ..trade("s1", "60000", "0.594", "USDT") };
        let r =
            ExchangeOrder { side: Side::Sell, quantity: d("0.0099"), ..report("0.0099", ExchangeOrderStatus::Filled) };
        core.apply_exchange_order(2, &r, Some(&t));
        assert_eq!(position(&mut core), Decimal::ZERO, "flat: 0.00009 BTC cannot be sold");
        let btc = core.venue.account_mut("live").unwrap().balance("BTC");
        assert_eq!(btc, d("0.00009"), "the balance keeps it");
    }

    #[test]
    fn a_fill_reported_before_its_trade_is_final_once_the_stream_brings_it() {
        let (mut core, mut rx) = buying();
        // The REST answer first: filled, final, no trade. The list is asked for after a
        // grace, the order waits.
        core.apply_exchange_order(1, &report("0.01", ExchangeOrderStatus::Filled), None);
        assert!(matches!(rx.try_recv(), Ok(LiveCommand::FetchTrades { after_ms, .. }) if after_ms == FETCH_GRACE_MS));
        assert_eq!(booked(&mut core).1, "NEW");
        // The stream's trade (its order state still partial): booked, the order final, the
        // list not needed.
        let t = trade("a", "100", "0.5", "USDT");
        core.apply_exchange_order(1, &report("0.01", ExchangeOrderStatus::PartiallyFilled), Some(&t));
        assert_eq!(booked(&mut core), (vec![(d("100"), d("0.01"), d("0.5"))], "FILLED".to_string()));
        assert!(matches!(rx.try_recv(), Ok(LiveCommand::ForgetTrades { client_id }) if client_id == "c1"));
    }

    #[test]
    fn a_fill_beyond_the_ordered_quantity_that_the_exchange_reports_is_booked() {
        // A Gate.io market buy is sent in quote: it can fill a little more base than the
        // host asked for. All of it is booked, with its fee, and the order ends FILLED.
        let (mut core, _rx) = buying();
        let t = OwnTrade { quantity: d("0.031"), ..trade("g1", "100", "0.000031", "BTC") };
        core.apply_exchange_order(1, &report("0.031", ExchangeOrderStatus::Filled), Some(&t));
        assert_eq!(booked(&mut core), (vec![(d("100"), d("0.031"), d("0.0031"))], "FILLED".to_string()));
    }
}
