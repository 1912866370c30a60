//! The live trading path of one exchange: a task that owns its [`Connector`], sends the
//! core's orders (already journaled, rounded to the exchange's filters, with a client
//! order id derived from the host's order id), and feeds what the exchange says back to
//! the core as [`LiveEvent`]s.
//!
//! * **Idempotent submits.** A submit that fails with a retryable error (network, 429,
//!   418) is retried with the same client order id after the wait the exchange asked
//!   for; connectors answer a duplicate client id with the existing order, so a retry
//!   never makes a second order.
//! * **Requests side by side, in a safe order.** Each placement and cancel is a request of
//!   its own, so one slow answer (or a retry waiting out a 429) holds up nothing else:
//!   not the other orders, not the private stream. Two rules keep the order that
//!   matters: a cancel of an order still being placed goes out once the placement is
//!   answered (before, the exchange would not know the order), and a new order on a
//!   symbol waits for the cancels on that symbol still working (they free the balance it
//!   may need). A cancel of an order not sent yet withdraws it.
//! * **Reconcile before trading.** On start and after every reconnect of the private
//!   stream, the router fetches exchange info, open orders, the state of every order the
//!   host tracks, and balances, and reports them; orders from the core wait in a queue
//!   until that is done. Open orders carrying this host's client-id prefix that the host
//!   does not track are canceled (never an untracked order).
//! * **Kill switch.** `CancelAll` drops queued orders, cancels every tracked order (those
//!   still being placed as soon as they are answered) and every other open order.

use crate::connectors::{
    Balance, Connector, ConnectorError, ConnectorResult, ExchangeId, ExchangeOrder, OrderRef, OrderRequest,
    OrderUpdate, OwnTrade, StreamEvent, Subscription, SymbolRules,
};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::{Id as TaskId, JoinSet};

/// What the core asks of a venue.
#[derive(Debug)]
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
    /// Answer once no request is on its way (at exit, after `CancelAll`).
    Drained(tokio::sync::oneshot::Sender<()>),
    /// List an order's trades (prices and fees): the exchange reported filled quantity
    /// without them. Answered with `Listed` (the same `seq`), complete when they add up to
    /// `filled` within a few tries.
    FetchTrades {
        /// The ask's number (an answer to an older ask is told apart).
        seq: u64,
        /// Host spelling of the symbol.
        symbol: String,
        /// Its client order id.
        client_id: String,
        /// The exchange's order id.
        exchange_order_id: String,
        /// The filled quantity the exchange reported.
        filled: rust_decimal::Decimal,
        /// Wait this long first (the private stream may bring the trades meanwhile).
        after_ms: u64,
    },
    /// The trades of an order came by the stream: a `FetchTrades` still waiting or on its
    /// way is dropped.
    ForgetTrades {
        /// Client order id.
        client_id: String,
    },
    /// Keep the price of `asset` in `quote` (the last trade of `<asset><quote>`) coming,
    /// to value fees paid in it: answered with `AssetPrice` now and every
    /// [`ASSET_PRICE_EVERY`].
    PriceAsset {
        /// The asset fees are paid in (`BNB`).
        asset: String,
        /// The quote asset they are valued in (`USDT`).
        quote: String,
    },
}

/// How often the prices of the assets fees are paid in are read again.
pub const ASSET_PRICE_EVERY: Duration = Duration::from_secs(60);

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
    /// The core canceled the order before it was sent: it never reaches the exchange.
    Withdrawn {
        /// Venue.
        venue: ExchangeId,
        /// Host order id.
        order_id: u64,
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
    /// The answer to `FetchTrades`: the order's trades found, oldest first, and whether
    /// they add up to the filled quantity asked about.
    Listed {
        /// Venue.
        venue: ExchangeId,
        /// Client order id.
        client_id: String,
        /// The ask's number.
        seq: u64,
        /// The trades.
        fills: Vec<OwnTrade>,
        /// They add up.
        complete: bool,
    },
    /// Balances after a reconciliation.
    Balances {
        /// Venue.
        venue: ExchangeId,
        /// Balances.
        balances: Vec<Balance>,
    },
    /// The price of an asset fees are paid in (`PriceAsset`).
    AssetPrice {
        /// Venue.
        venue: ExchangeId,
        /// The asset (`BNB`).
        asset: String,
        /// The quote (`USDT`).
        quote: String,
        /// Its last price there.
        price: rust_decimal::Decimal,
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
    /// Orders on the exchange or on their way: client id -> (host order id, symbol).
    tracked: BTreeMap<String, (u64, String)>,
    /// Placements not sent yet, in the order the core sent them: the venue is not
    /// reconciled, or cancels on their symbol are still working.
    waiting: VecDeque<(u64, OrderRequest)>,
    ready: bool,
    /// Requests on their way to the exchange, and what each is about.
    running: JoinSet<Done>,
    jobs: HashMap<TaskId, Job>,
    /// Placements on their way, by client id.
    placing: HashMap<String, Placing>,
    /// Per symbol, the orders (client ids) with a cancel asked for and not finished
    /// (waiting for their placement or on its way); a repeated cancel adds nothing.
    canceling: HashMap<String, HashSet<String>>,
    /// Answered when no request is on its way any more.
    drained: Vec<tokio::sync::oneshot::Sender<()>>,
    /// Trade lists asked for, by client id (the task, to drop it when no longer needed).
    listing: HashMap<String, tokio::task::AbortHandle>,
    /// Assets whose price the core values fees with (asset, quote), and when each is to
    /// be read next (`None` while a read is on its way).
    priced: BTreeMap<(String, String), Option<tokio::time::Instant>>,
    /// Those reads, apart from the order requests: nothing waits for them, exit included.
    pricing: JoinSet<PriceRead>,
}

/// A read of an asset's price: (asset, quote) and the venue's answer.
type PriceRead = ((String, String), ConnectorResult<rust_decimal::Decimal>);

/// How soon a price read that failed for a while (a throttle, the network) is tried again.
const ASSET_PRICE_RETRY: Duration = Duration::from_secs(5);

/// A placement on its way.
#[derive(Debug, Default)]
struct Placing {
    /// A cancel waits for the placement's answer.
    cancel_wanted: bool,
    /// The latest state the private stream reported meanwhile: the exchange has the
    /// order even if the placement's own answer never comes.
    seen: Option<ExchangeOrder>,
}

/// What a request on its way is about (to clean up after it, even if it panicked).
#[derive(Debug, Clone)]
enum Job {
    Place { order_id: u64, client_id: String, symbol: String },
    Cancel { client_id: String, symbol: String },
    Fetch { client_id: String, seq: u64 },
    Sweep,
}

/// How a request ended.
#[derive(Debug)]
enum Done {
    /// A placement: the exchange's answer, or why it was not placed.
    Placed(Result<ExchangeOrder, String>),
    /// A cancel: the order as it ended (`None`: unknown, the request failed).
    Canceled(Option<ExchangeOrder>),
    /// An order's trades (oldest first), and whether they add up to the filled quantity.
    Fetched { trades: Vec<OwnTrade>, complete: bool },
    /// The kill switch's sweep of other open orders.
    Swept,
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
            waiting: VecDeque::new(),
            ready: false,
            running: JoinSet::new(),
            jobs: HashMap::new(),
            placing: HashMap::new(),
            canceling: HashMap::new(),
            drained: Vec::new(),
            listing: HashMap::new(),
            priced: BTreeMap::new(),
            pricing: JoinSet::new(),
        }
    }

    /// Run until the command channel closes.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<LiveCommand>) {
        // The orders restored from the store (`Track`) are queued before the router
        // starts: take them before any reconciliation, which cancels this host's orders it
        // does not track.
        while let Ok(c) = commands.try_recv() {
            self.command(c);
        }
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
        // again every second; waiting orders wait for it.
        // (The first tick a second from now: the stream's `Connected` reconciles first.)
        let second = Duration::from_secs(1);
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + second, second);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => break,
                    Some(c) => self.command(c),
                },
                Some(done) = self.running.join_next_with_id(), if !self.running.is_empty() => self.finished(done),
                Some(Ok(read)) = self.pricing.join_next(), if !self.pricing.is_empty() => self.price_read(read),
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
                    self.read_due_prices();
                }
            }
        }
        // The core is gone (shutdown): nothing more is placed, but the requests already
        // on their way finish (and the cancels waiting for them go out).
        self.ready = false;
        self.waiting.clear();
        while let Some(done) = self.running.join_next_with_id().await {
            self.finished(done);
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
        if let Some(p) = self.placing.get_mut(&update.order.client_order_id) {
            p.seen = Some(update.order.clone());
        }
        if !update.order.status.is_open() {
            self.tracked.remove(&update.order.client_order_id);
        }
        self.emit(LiveEvent::Update { venue: self.venue, update });
    }

    fn command(&mut self, cmd: LiveCommand) {
        match cmd {
            LiveCommand::Track { order_id, symbol, client_id } => {
                self.tracked.insert(client_id, (order_id, symbol));
            }
            LiveCommand::CancelAll => self.cancel_all(),
            LiveCommand::Place { order_id, request } => {
                crate::connectors::latency::stage("4 router has the order");
                self.waiting.push_back((order_id, request));
                self.release();
            }
            LiveCommand::Cancel { order_id, symbol, client_id } => self.cancel(order_id, symbol, client_id),
            LiveCommand::FetchTrades { seq, symbol, client_id, exchange_order_id, filled, after_ms } => {
                if let Some(earlier) = self.listing.remove(&client_id) {
                    earlier.abort();
                }
                let ask = TradeAsk { symbol, client_id: client_id.clone(), exchange_order_id, filled, after_ms };
                let task = self.running.spawn(fetch_trades(self.connector.clone(), self.venue, ask));
                self.listing.insert(client_id.clone(), task.clone());
                self.jobs.insert(task.id(), Job::Fetch { client_id, seq });
            }
            LiveCommand::ForgetTrades { client_id } => {
                if let Some(task) = self.listing.remove(&client_id) {
                    task.abort();
                }
            }
            LiveCommand::PriceAsset { asset, quote } => {
                let now = tokio::time::Instant::now();
                self.priced.entry((asset, quote)).or_insert(Some(now));
                self.read_due_prices();
            }
            LiveCommand::Drained(tx) => {
                // Trade lists only book what a restart's reconciliation books too: not
                // worth waiting for at exit.
                for (_, task) in self.listing.drain() {
                    task.abort();
                }
                self.drained.push(tx);
                self.answer_drained();
            }
        }
    }

    /// Start the price reads that are due.
    fn read_due_prices(&mut self) {
        let now = tokio::time::Instant::now();
        for (pair, next) in self.priced.iter_mut().filter(|(_, n)| n.is_some_and(|t| t <= now)) {
            *next = None;
            let (connector, pair) = (self.connector.clone(), pair.clone());
            self.pricing.spawn(async move {
                let read = connector.ticker(&format!("{}{}", pair.0, pair.1)).await.map(|t| t.last);
                (pair, read)
            });
        }
    }

    /// A price read ended: report the price and read it again in a minute; after a failure
    /// that may pass, try again soon; after a definite refusal (no such market), stop.
    fn price_read(&mut self, ((asset, quote), read): PriceRead) {
        let now = tokio::time::Instant::now();
        let venue = self.venue;
        let next = match read {
            Ok(price) if price > rust_decimal::Decimal::ZERO => {
                self.emit(LiveEvent::AssetPrice { venue, asset: asset.clone(), quote: quote.clone(), price });
                Some(now + ASSET_PRICE_EVERY)
            }
            Ok(_) => {
                tracing::warn!(%venue, %asset, %quote, "no price yet to value fees paid in this asset");
                Some(now + ASSET_PRICE_RETRY)
            }
            Err(e) => match e.retry_wait() {
                Some(wait) => {
                    tracing::debug!(%venue, %asset, %quote, error = %e, "price read failed; trying again");
                    Some(now + wait.max(ASSET_PRICE_RETRY))
                }
                None => {
                    tracing::warn!(%venue, %asset, %quote, error = %e, "no price for this fee asset: its fees count as 0");
                    None
                }
            },
        };
        match next {
            Some(at) => {
                self.priced.insert((asset, quote), Some(at));
            }
            None => {
                self.priced.remove(&(asset, quote));
            }
        }
    }

    fn answer_drained(&mut self) {
        if self.running.is_empty() {
            for tx in self.drained.drain(..) {
                let _ = tx.send(());
            }
        }
    }

    /// Send the waiting placements that may go: the venue is reconciled and no cancel on
    /// their symbol is working. The others keep their order.
    fn release(&mut self) {
        if !self.ready || self.waiting.is_empty() {
            return;
        }
        let mut keep = VecDeque::new();
        while let Some((order_id, request)) = self.waiting.pop_front() {
            if self.canceling.contains_key(&request.symbol) {
                keep.push_back((order_id, request));
            } else {
                self.place(order_id, request);
            }
        }
        self.waiting = keep;
    }

    fn place(&mut self, order_id: u64, request: OrderRequest) {
        let client_id = request.client_order_id.clone();
        let symbol = request.symbol.clone();
        self.tracked.insert(client_id.clone(), (order_id, symbol.clone()));
        self.placing.insert(client_id.clone(), Placing::default());
        let task = self.running.spawn(place(self.connector.clone(), self.venue, order_id, request));
        self.jobs.insert(task.id(), Job::Place { order_id, client_id, symbol });
    }

    fn cancel(&mut self, order_id: u64, symbol: String, client_id: String) {
        if let Some(at) = self.waiting.iter().position(|(id, _)| *id == order_id) {
            // Not sent yet: it never will be.
            self.waiting.remove(at);
            self.emit(LiveEvent::Withdrawn { venue: self.venue, order_id });
            return;
        }
        if !self.canceling.entry(symbol.clone()).or_default().insert(client_id.clone()) {
            return; // a cancel of it is already asked for
        }
        match self.placing.get_mut(&client_id) {
            // The exchange may not know it yet: cancel once the placement is answered.
            Some(p) => p.cancel_wanted = true,
            None => self.send_cancel(order_id, symbol, client_id),
        }
    }

    fn send_cancel(&mut self, order_id: u64, symbol: String, client_id: String) {
        let task =
            self.running.spawn(cancel(self.connector.clone(), self.venue, order_id, symbol.clone(), client_id.clone()));
        self.jobs.insert(task.id(), Job::Cancel { client_id, symbol });
    }

    /// The cancel of `client_id` on `symbol` is over: placements waiting for the cancels
    /// on that symbol may go once none is left.
    fn cancel_over(&mut self, symbol: &str, client_id: &str) {
        if let Some(set) = self.canceling.get_mut(symbol) {
            set.remove(client_id);
            if set.is_empty() {
                self.canceling.remove(symbol);
                self.release();
            }
        }
    }

    /// A request came back (or its task died: then the order's state is unknown; or it
    /// was dropped: a trade list no longer needed, not answered).
    fn finished(&mut self, done: Result<(TaskId, Done), tokio::task::JoinError>) {
        let (id, done, dropped) = match done {
            Ok((id, d)) => (id, Some(d), false),
            Err(e) => {
                if !e.is_cancelled() {
                    tracing::error!(venue = %self.venue, error = %e, "an exchange request failed unexpectedly");
                }
                (e.id(), None, e.is_cancelled())
            }
        };
        if let Some(job) = self.jobs.remove(&id) {
            if let Job::Fetch { client_id, .. } = &job
                && self.listing.get(client_id).is_some_and(|h| h.id() == id)
            {
                self.listing.remove(client_id);
            }
            if !dropped {
                self.job_done(job, done);
            }
        }
        self.answer_drained();
    }

    fn job_done(&mut self, job: Job, done: Option<Done>) {
        match job {
            Job::Place { order_id, client_id, symbol } => {
                let placing = self.placing.remove(&client_id).unwrap_or_default();
                // Whether it may be working on the exchange (unknown if the task died).
                let open = match done {
                    Some(Done::Placed(Ok(order))) => {
                        let open = order.status.is_open();
                        self.emit(LiveEvent::Accepted { venue: self.venue, order_id, order });
                        open
                    }
                    Some(Done::Placed(Err(reason))) => match placing.seen {
                        // The answers were lost but the private stream saw the order: it is
                        // on the exchange, whatever the placement concluded.
                        Some(order) => {
                            tracing::warn!(venue = %self.venue, order_id, %reason, "placement unconfirmed, but the exchange reported the order: tracking it");
                            let open = order.status.is_open();
                            self.emit(LiveEvent::Accepted { venue: self.venue, order_id, order });
                            open
                        }
                        None => {
                            self.emit(LiveEvent::Refused { venue: self.venue, order_id, reason });
                            false
                        }
                    },
                    _ => true,
                };
                if !open {
                    self.tracked.remove(&client_id);
                }
                if placing.cancel_wanted {
                    if open {
                        self.send_cancel(order_id, symbol, client_id);
                    } else {
                        self.cancel_over(&symbol, &client_id);
                    }
                }
            }
            Job::Cancel { client_id, symbol } => {
                if let Some(Done::Canceled(Some(order))) = done {
                    self.update(OrderUpdate { order, fill: None });
                }
                self.cancel_over(&symbol, &client_id);
            }
            Job::Fetch { client_id, seq } => {
                let (fills, complete) = match done {
                    Some(Done::Fetched { trades, complete }) => (trades, complete),
                    _ => (Vec::new(), false),
                };
                self.emit(LiveEvent::Listed { venue: self.venue, client_id, seq, fills, complete });
            }
            Job::Sweep => {}
        }
    }

    /// The kill switch: nothing waiting is sent, every tracked order is canceled (those
    /// being placed once answered), then every other open order of the account.
    fn cancel_all(&mut self) {
        let dropped = self.waiting.len();
        for (order_id, _) in std::mem::take(&mut self.waiting) {
            self.emit(LiveEvent::Refused { venue: self.venue, order_id, reason: "kill switch: order not sent".into() });
        }
        let tracked: Vec<(String, (u64, String))> = self.tracked.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        tracing::warn!(venue = %self.venue, queued = dropped, open = tracked.len(), "kill switch: canceling every open order");
        for (client_id, (order_id, symbol)) in tracked {
            self.cancel(order_id, symbol, client_id); // once per order, however often asked
        }
        // Everything else open on the account too (manual orders, other tools): the kill
        // switch leaves nothing working.
        let keep: Vec<String> = self.tracked.keys().cloned().collect();
        let (connector, venue) = (self.connector.clone(), self.venue);
        let task = self.running.spawn(async move {
            match connector.open_orders(None).await {
                Ok(open) => {
                    for o in open.into_iter().filter(|o| !keep.contains(&o.client_order_id)) {
                        if let Err(e) = connector.cancel_order(&o.symbol, &OrderRef::Exchange(o.order_id.clone())).await {
                            tracing::warn!(venue = %venue, order = %o.order_id, error = %e, "kill switch: cancel failed");
                        }
                    }
                }
                Err(e) => tracing::error!(venue = %venue, error = %e, "kill switch: cannot list open orders"),
            }
            Done::Swept
        });
        self.jobs.insert(task.id(), Job::Sweep);
    }

    /// Bring the host's view in line with the exchange, then release waiting orders.
    /// Orders still being placed are left to their placement's answer.
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
        let tracked: Vec<(String, (u64, String))> = self
            .tracked
            .iter()
            .filter(|(k, _)| !self.placing.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (client_id, (_, symbol)) in tracked {
            let order = match open.iter().find(|o| o.client_order_id == client_id) {
                Some(o) => Ok(o.clone()),
                None => self.connector.get_order(&symbol, &OrderRef::Client(client_id.clone())).await,
            };
            match order {
                Ok(order) => {
                    if !order.filled_quantity.is_zero()
                        && let Ok(fills) = self.connector.order_trades(&symbol, &order.order_id).await
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
        self.release();
    }
}

/// Send one order, retrying with the same client order id while the failure is
/// retryable: the exchange's answer, or why the order was not placed.
async fn place(connector: Arc<dyn Connector>, venue: ExchangeId, order_id: u64, request: OrderRequest) -> Done {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match connector.create_order(&request).await {
            Ok(order) => return Done::Placed(Ok(order)),
            Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                let wait = e.retry_wait().unwrap_or(Duration::from_millis(200));
                tracing::warn!(venue = %venue, order_id, attempt, wait_ms = wait.as_millis() as u64, error = %e, "order not confirmed; retrying with the same client order id");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                // A definite refusal, or retries exhausted: make sure nothing was placed
                // under this client id before reporting it refused.
                let lookup = OrderRef::Client(request.client_order_id.clone());
                if e.is_retryable()
                    && let Ok(order) = connector.get_order(&request.symbol, &lookup).await
                {
                    return Done::Placed(Ok(order));
                }
                return Done::Placed(Err(e.to_string()));
            }
        }
    }
}

/// What `FetchTrades` asks about.
struct TradeAsk {
    symbol: String,
    client_id: String,
    exchange_order_id: String,
    filled: rust_decimal::Decimal,
    after_ms: u64,
}

/// The trades of one order, oldest first, after `after_ms`: asked again a few times while
/// they do not add up to `filled` (an exchange's trade list can lag its order status).
async fn fetch_trades(connector: Arc<dyn Connector>, venue: ExchangeId, ask: TradeAsk) -> Done {
    let TradeAsk { symbol, client_id, exchange_order_id, filled, after_ms } = ask;
    let mut found = Vec::new();
    for wait_ms in [after_ms, 300, 1000, 3000] {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        match connector.order_trades(&symbol, &exchange_order_id).await {
            Ok(list) => {
                found = list
                    .into_iter()
                    .filter(|t| t.order_id == exchange_order_id || t.client_order_id.as_deref() == Some(&client_id))
                    .collect();
                found.sort_by_key(|t| t.time_ms);
                if found.iter().map(|t| t.quantity).sum::<rust_decimal::Decimal>() >= filled {
                    return Done::Fetched { trades: found, complete: true };
                }
            }
            Err(e) => tracing::warn!(venue = %venue, %symbol, error = %e, "cannot list an order's trades"),
        }
    }
    Done::Fetched { trades: found, complete: false }
}

/// Cancel one order by its client id: how it ended, if known.
async fn cancel(
    connector: Arc<dyn Connector>,
    venue: ExchangeId,
    order_id: u64,
    symbol: String,
    client_id: String,
) -> Done {
    let by_client = OrderRef::Client(client_id);
    match connector.cancel_order(&symbol, &by_client).await {
        Ok(order) => Done::Canceled(Some(order)),
        // Already final: look it up so the core learns how it ended.
        Err(ConnectorError::OrderNotFound { .. }) => {
            Done::Canceled(connector.get_order(&symbol, &by_client).await.ok())
        }
        Err(e) => {
            tracing::warn!(venue = %venue, order_id, error = %e, "cancel failed");
            Done::Canceled(None)
        }
    }
}
