//! The live trading path of one exchange: a task that owns its [`Connector`], sends the
//! core's orders (already journaled, rounded to the exchange's filters, with a client
//! order id derived from the host's order id), and feeds what the exchange says back to
//! the core as [`LiveEvent`]s.
//!
//! * **Idempotent submits.** A submit that fails with a retryable error (network, 429,
//!   418) is retried with the same client order id after the wait the exchange asked
//!   for; connectors answer a duplicate client id with the existing order, so a retry
//!   never makes a second order.
//! * **Reconcile before trading.** On start and after every reconnect of the private
//!   stream, the router fetches exchange info, open orders, the state of every order the
//!   host tracks, and balances, and reports them; orders from the core wait in a queue
//!   until that is done. Open orders carrying this host's client-id prefix that the host
//!   does not track are canceled (never an untracked order).
//! * **Kill switch.** `CancelAll` drops queued orders and cancels every tracked order.

use crate::connectors::{
    Balance, Connector, ConnectorError, ExchangeId, ExchangeOrder, OrderRef, OrderRequest, OrderUpdate, OwnTrade,
    StreamEvent, Subscription, SymbolRules,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the core asks of a venue.
#[derive(Debug, Clone)]
pub enum LiveCommand {
    /// Send a new order.
    Place {
        /// Host order id.
        order_id: u64,
        /// The request (rounded, with its client order id).
        request: OrderRequest,
    },
    /// Cancel a tracked order.
    Cancel {
        /// Host order id.
        order_id: u64,
        /// Host spelling of the symbol.
        symbol: String,
        /// Its client order id.
        client_id: String,
    },
    /// Track an order restored from the store (after a restart), for reconciliation.
    Track {
        /// Host order id.
        order_id: u64,
        /// Host spelling of the symbol.
        symbol: String,
        /// Its client order id.
        client_id: String,
    },
    /// Kill switch: drop queued orders and cancel every tracked one.
    CancelAll,
}

/// What a venue tells the core.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// Trading rules of every symbol (before any order is sent).
    Rules {
        /// Venue.
        venue: ExchangeId,
        /// Rules.
        rules: Vec<SymbolRules>,
    },
    /// The exchange accepted an order.
    Accepted {
        /// Venue.
        venue: ExchangeId,
        /// Host order id.
        order_id: u64,
        /// As the exchange reports it.
        order: ExchangeOrder,
    },
    /// The order was not placed.
    Refused {
        /// Venue.
        venue: ExchangeId,
        /// Host order id.
        order_id: u64,
        /// Why.
        reason: String,
    },
    /// An order changed (private stream or a reconciliation lookup), maybe with a fill.
    Update {
        /// Venue.
        venue: ExchangeId,
        /// The update.
        update: OrderUpdate,
    },
    /// All fills of an order as the exchange lists them (reconciliation): the core applies
    /// those beyond what it has recorded.
    Fills {
        /// Venue.
        venue: ExchangeId,
        /// Client order id.
        client_id: String,
        /// Every fill of the order, oldest first.
        fills: Vec<OwnTrade>,
    },
    /// Balances after a reconciliation.
    Balances {
        /// Venue.
        venue: ExchangeId,
        /// Balances.
        balances: Vec<Balance>,
    },
    /// The private stream is up and reconciled (true) or down (false).
    Ready {
        /// Venue.
        venue: ExchangeId,
        /// Up or down.
        up: bool,
        /// Detail for the log and /health.
        detail: String,
    },
}

/// Delivers events to the core (a closure so this module does not know the core's channel).
pub type Sink = Arc<dyn Fn(LiveEvent) -> bool + Send + Sync>;

/// The per-venue router.
pub struct Router {
    venue: ExchangeId,
    connector: Arc<dyn Connector>,
    prefix: String,
    sink: Sink,
    tracked: BTreeMap<String, (u64, String)>,
    queue: VecDeque<LiveCommand>,
    ready: bool,
}

/// Most attempts at sending one order before it is reported refused.
const MAX_ATTEMPTS: u32 = 6;

impl Router {
    /// A router for `connector`; `prefix` is the start of every client order id this host
    /// makes (to recognise its own orders on the exchange).
    pub fn new(connector: Arc<dyn Connector>, prefix: String, sink: Sink) -> Router {
        Router {
            venue: connector.exchange(),
            connector,
            prefix,
            sink,
            tracked: BTreeMap::new(),
            queue: VecDeque::new(),
            ready: false,
        }
    }

    /// Run until the command channel closes.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<LiveCommand>) {
        self.load_rules().await;
        let mut stream = match self.connector.stream(vec![Subscription::Orders], false) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(venue = %self.venue, error = %e, "no private stream: order updates come from reconciliation only");
                self.reconcile().await;
                None
            }
        };
        // While not reconciled (a failed reconciliation: throttled, banned, network), try
        // again every second; queued orders wait for it.
        // (The first tick a second from now: the stream's `Connected` reconciles first.)
        let second = Duration::from_secs(1);
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + second, second);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(c) => self.command(c).await,
                },
                ev = async { match stream.as_mut() { Some(s) => s.events.recv().await, None => std::future::pending().await } } => match ev {
                    None => {
                        stream = None;
                    }
                    Some(StreamEvent::Connected { attempt }) => {
                        tracing::info!(venue = %self.venue, attempt, "private stream connected; reconciling before trading");
                        self.reconcile().await;
                    }
                    Some(StreamEvent::Disconnected { reason }) => {
                        self.ready = false;
                        self.emit(LiveEvent::Ready { venue: self.venue, up: false, detail: reason });
                    }
                    Some(StreamEvent::Order(update)) => self.update(update),
                    Some(_) => {}
                },
                _ = poll.tick() => {
                    if !self.ready {
                        self.reconcile().await;
                    }
                }
            }
        }
    }

    fn emit(&self, ev: LiveEvent) {
        if !(self.sink)(ev) {
            tracing::debug!(venue = %self.venue, "core gone; live event dropped");
        }
    }

    async fn load_rules(&mut self) {
        let mut wait = Duration::from_millis(200);
        loop {
            match self.connector.exchange_info().await {
                Ok(rules) => {
                    tracing::info!(venue = %self.venue, symbols = rules.len(), "exchange info loaded");
                    self.emit(LiveEvent::Rules { venue: self.venue, rules });
                    return;
                }
                Err(e) => {
                    tracing::warn!(venue = %self.venue, error = %e, "cannot load exchange info; retrying");
                    tokio::time::sleep(e.retry_wait().unwrap_or(wait)).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    fn update(&mut self, update: OrderUpdate) {
        if !update.order.status.is_open() {
            self.tracked.remove(&update.order.client_order_id);
        }
        self.emit(LiveEvent::Update { venue: self.venue, update });
    }

    async fn command(&mut self, cmd: LiveCommand) {
        match cmd {
            LiveCommand::Track { order_id, symbol, client_id } => {
                self.tracked.insert(client_id, (order_id, symbol));
            }
            LiveCommand::CancelAll => {
                let dropped = self.queue.len();
                for c in self.queue.drain(..) {
                    if let LiveCommand::Place { order_id, .. } = c {
                        (self.sink)(LiveEvent::Refused {
                            venue: self.venue,
                            order_id,
                            reason: "kill switch: order not sent".into(),
                        });
                    }
                }
                let tracked: Vec<(String, (u64, String))> =
                    self.tracked.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                tracing::warn!(venue = %self.venue, queued = dropped, open = tracked.len(), "kill switch: canceling every open order");
                for (client_id, (order_id, symbol)) in tracked {
                    self.cancel(order_id, &symbol, &client_id).await;
                }
                // Everything else open on the account too (manual orders, other tools):
                // the kill switch leaves nothing working.
                match self.connector.open_orders(None).await {
                    Ok(open) => {
                        for o in open {
                            if let Err(e) =
                                self.connector.cancel_order(&o.symbol, &OrderRef::Exchange(o.order_id.clone())).await
                            {
                                tracing::warn!(venue = %self.venue, order = %o.order_id, error = %e, "kill switch: cancel failed");
                            }
                        }
                    }
                    Err(e) => tracing::error!(venue = %self.venue, error = %e, "kill switch: cannot list open orders"),
                }
            }
            c @ LiveCommand::Place { .. } if !self.ready => self.queue.push_back(c),
            LiveCommand::Place { order_id, request } => {
                crate::connectors::latency::stage("4 router has the order");
                self.place(order_id, request).await
            }
            LiveCommand::Cancel { order_id, symbol, client_id } => self.cancel(order_id, &symbol, &client_id).await,
        }
    }

    async fn place(&mut self, order_id: u64, request: OrderRequest) {
        self.tracked.insert(request.client_order_id.clone(), (order_id, request.symbol.clone()));
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.connector.create_order(&request).await {
                Ok(order) => {
                    if !order.status.is_open() {
                        self.tracked.remove(&request.client_order_id);
                    }
                    self.emit(LiveEvent::Accepted { venue: self.venue, order_id, order });
                    return;
                }
                Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                    let wait = e.retry_wait().unwrap_or(Duration::from_millis(200));
                    tracing::warn!(venue = %self.venue, order_id, attempt, wait_ms = wait.as_millis() as u64, error = %e, "order not confirmed; retrying with the same client order id");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    // A definite refusal, or retries exhausted: make sure nothing was
                    // placed under this client id before reporting it refused.
                    let symbol = request.symbol.clone();
                    let lookup = OrderRef::Client(request.client_order_id.clone());
                    if e.is_retryable()
                        && let Ok(order) = self.connector.get_order(&symbol, &lookup).await
                    {
                        self.emit(LiveEvent::Accepted { venue: self.venue, order_id, order });
                        return;
                    }
                    self.tracked.remove(&request.client_order_id);
                    self.emit(LiveEvent::Refused { venue: self.venue, order_id, reason: e.to_string() });
                    return;
                }
            }
        }
    }

    async fn cancel(&mut self, order_id: u64, symbol: &str, client_id: &str) {
        match self.connector.cancel_order(symbol, &OrderRef::Client(client_id.to_string())).await {
            Ok(order) => self.update(OrderUpdate { order, fill: None }),
            Err(ConnectorError::OrderNotFound { .. }) => {
                // Already final: look it up so the core learns how it ended.
                if let Ok(order) = self.connector.get_order(symbol, &OrderRef::Client(client_id.to_string())).await {
                    self.update(OrderUpdate { order, fill: None });
                }
            }
            Err(e) => tracing::warn!(venue = %self.venue, order_id, error = %e, "cancel failed"),
        }
    }

    /// Bring the host's view in line with the exchange, then release queued orders.
    async fn reconcile(&mut self) {
        let open = match self.connector.open_orders(None).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(venue = %self.venue, error = %e, "reconciliation failed; trading stays paused");
                return;
            }
        };
        for o in &open {
            if o.client_order_id.starts_with(&self.prefix) && !self.tracked.contains_key(&o.client_order_id) {
                tracing::warn!(venue = %self.venue, client_id = %o.client_order_id, "untracked order of this host on the exchange; canceling it");
                let _ = self.connector.cancel_order(&o.symbol, &OrderRef::Exchange(o.order_id.clone())).await;
            }
        }
        let tracked: Vec<(String, (u64, String))> = self.tracked.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (client_id, (_, symbol)) in tracked {
            let order = match open.iter().find(|o| o.client_order_id == client_id) {
                Some(o) => Ok(o.clone()),
                None => self.connector.get_order(&symbol, &OrderRef::Client(client_id.clone())).await,
            };
            match order {
                Ok(order) => {
                    if !order.filled_quantity.is_zero()
                        && let Ok(fills) = self.connector.my_trades(&symbol, 1000).await
                    {
                        let mine: Vec<OwnTrade> = fills
                            .into_iter()
                            .filter(|f| {
                                f.order_id == order.order_id || f.client_order_id.as_deref() == Some(&client_id)
                            })
                            .collect();
                        self.emit(LiveEvent::Fills { venue: self.venue, client_id: client_id.clone(), fills: mine });
                    }
                    self.update(OrderUpdate { order, fill: None });
                }
                Err(ConnectorError::OrderNotFound { .. }) => {
                    // Never reached the exchange (the host stopped before sending it).
                    if let Some((order_id, _)) = self.tracked.remove(&client_id) {
                        self.emit(LiveEvent::Refused {
                            venue: self.venue,
                            order_id,
                            reason: "not found on the exchange after a restart; never placed".into(),
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(venue = %self.venue, error = %e, "reconciliation failed; trading stays paused");
                    return;
                }
            }
        }
        match self.connector.balances().await {
            Ok(balances) => self.emit(LiveEvent::Balances { venue: self.venue, balances }),
            Err(e) => tracing::warn!(venue = %self.venue, error = %e, "balances unavailable"),
        }
        self.ready = true;
        self.emit(LiveEvent::Ready { venue: self.venue, up: true, detail: "reconciled".into() });
        while self.ready {
            let Some(c) = self.queue.pop_front() else { break };
            if let LiveCommand::Place { order_id, request } = c {
                self.place(order_id, request).await;
            }
        }
    }
}
