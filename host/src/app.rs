//! Wiring: open the store, load strategies, start the feed, the core loop, the
//! watcher and the API servers; stop them in order on shutdown.

use crate::api::{self, AppState};
use crate::config::PluginsConfig;
use crate::connectors::{ConnectorRegistry, ConnectorSettings, ExchangeId};
use crate::core::{Core, CoreSettings, Input};
use crate::market_data::feeds::{self, Feed, FeedEvent, Pacer, SharedSymbols};
use crate::plugins::{Loader, PluginHost, watcher};
use crate::store::Store;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// Events per message from the feed thread to the core.
const BATCH: usize = 512;

/// Where market data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedChoice {
    /// Seeded synthetic BTCUSDT/ETHUSDT trades starting at `start_ms`.
    Synthetic {
        /// PRNG seed.
        seed: u64,
        /// Event time of the first trade.
        start_ms: i64,
    },
    /// Recorded files (WS recordings or data.binance.vision CSVs), merged in order.
    Replay(Vec<PathBuf>),
    /// Live market data when plugins.toml trades on an exchange, else synthetic.
    Auto {
        /// PRNG seed of the synthetic feed.
        seed: u64,
        /// Event time of the synthetic feed's first trade.
        start_ms: i64,
    },
    /// Live market data from these exchanges (empty: the venues plugins.toml trades on).
    /// Paper strategies take their prices from the first one.
    Live(Vec<ExchangeId>),
}

/// Everything `run` needs; built by `main` from the CLI, the environment and `.env`.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// plugins.toml.
    pub config_path: PathBuf,
    /// The feed.
    pub feed: FeedChoice,
    /// Pacing: 0 = as fast as possible, 1 = real time.
    pub speed: f64,
    /// SQLite file.
    pub db: PathBuf,
    /// Compiled-artefact cache directory.
    pub cache_dir: PathBuf,
    /// Address to bind when an API key is set (loopback otherwise).
    pub bind: IpAddr,
    /// REST port (0 = any free port).
    pub port: u16,
    /// WebSocket port (0 = any free port).
    pub ws_port: u16,
    /// API key for mutating endpoints.
    pub api_key: Option<String>,
    /// Environment lookups for plugins.toml overrides.
    pub env: fn(&str) -> Option<String>,
    /// The core thread polls for events instead of sleeping between them
    /// ([`Core::run`](crate::core::Core::run)).
    pub busy_poll: bool,
}

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// plugins.toml is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The wasm engine could not start.
    #[error(transparent)]
    Plugins(#[from] crate::plugins::PluginError),
    /// A replay file could not be opened.
    #[error(transparent)]
    Feed(#[from] crate::market_data::feeds::FeedError),
    /// A port could not be bound, or a thread not started.
    #[error("{0}")]
    Io(String),
}

/// Addresses actually bound (useful with port 0).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// REST address.
    pub rest: SocketAddr,
    /// WebSocket address.
    pub ws: SocketAddr,
}

/// Start everything, call `on_bound` with the addresses, serve until `shutdown`
/// resolves, then stop the feed, flush the core and return.
pub async fn run(
    settings: RunSettings,
    on_bound: impl FnOnce(Bound),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let config = PluginsConfig::load(&settings.config_path, &settings.env)?;
    if let Some(dir) = settings.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StartError::Io(format!("{}: {e}", dir.display())))?;
    }
    let store = Store::open(&settings.db)?;
    let resume_after_ms = store.cursor()?;
    let loader = Loader::new(Some(settings.cache_dir.clone()))?;
    let modules = tokio::task::block_in_place(|| PluginHost::load_modules(&loader, &config));
    for (path, r) in &modules {
        match r {
            Ok(m) => {
                tracing::info!(module = %path.display(), hash = %&m.hash[..12], load_ms = m.load_ms, "module loaded")
            }
            Err(e) => {
                tracing::error!(module = %path.display(), error = %e, "module failed to load; its strategies are disabled")
            }
        }
    }
    let mut settings = settings;
    if let FeedChoice::Auto { seed, start_ms } = settings.feed {
        settings.feed = match venues_of(&config).is_empty() {
            true => FeedChoice::Synthetic { seed, start_ms },
            false => FeedChoice::Live(Vec::new()),
        };
    }
    let symbols: SharedSymbols = feeds::shared_symbols();
    let mut live_feed = match &settings.feed {
        FeedChoice::Live(v) if v.is_empty() => venues_of(&config),
        FeedChoice::Live(v) => v.clone(),
        _ => Vec::new(),
    };
    if matches!(settings.feed, FeedChoice::Live(_)) {
        // A market qualified with its exchange (`bybit:BTCUSDT`) streams from that exchange.
        for v in config.qualified_exchanges() {
            if !live_feed.contains(&v) {
                live_feed.push(v);
            }
        }
        if live_feed.is_empty() {
            return Err(StartError::Io(
                "`--feed live` needs an exchange: trade on one in plugins.toml, qualify a symbol \
                 (`binance:BTCUSDT`) or name it (`--feed live:binance`)"
                    .into(),
            ));
        }
    }
    let traded_live = venues_of(&config);
    if !traded_live.is_empty() && live_feed.is_empty() {
        tracing::warn!(venues = ?traded_live, "strategies trade on exchanges but the feed is not live: their orders go out, prices come from the {} feed", match settings.feed { FeedChoice::Replay(_) => "replay", _ => "synthetic" });
    }
    live_feed.dedup();
    let feed = match live_feed.is_empty() {
        true => Some(open_feed(&settings.feed, &symbols, &config.qualified_markets())?),
        false => None,
    };
    let (feed_name, skip_first_partial) = match (&settings.feed, &feed) {
        (FeedChoice::Synthetic { seed, .. }, Some(f)) => {
            (format!("synthetic(seed={seed})"), !f.starts_on_minute_boundary())
        }
        (FeedChoice::Replay(p), Some(f)) => (format!("replay({} files)", p.len()), !f.starts_on_minute_boundary()),
        _ => (format!("live({})", live_feed.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",")), true),
    };
    if let Some(c) = resume_after_ms {
        tracing::info!(cursor_ms = c, "resuming: market events up to the stored cursor are skipped");
    }
    let (bus, _) = broadcast::channel(4096);
    // A full-speed replay is an analysis run: the paper exchange does not mirror it.
    let mirror_market = !(matches!(settings.feed, FeedChoice::Replay(_)) && settings.speed == 0.0);
    let core_settings = CoreSettings {
        skip_first_partial,
        tick_capacity: 10_000,
        resume_after_ms,
        feed: feed_name,
        backtest: false,
        mirror_market,
    };
    let plugin_dir = config.plugin_dir.clone();
    let feed_symbols = live_symbols(&config, &live_feed);
    let mut core = Core::new(
        core_settings,
        symbols.clone(),
        PluginHost::new(loader.clone()),
        store,
        config,
        &modules,
        bus.clone(),
    )?;
    let exchange_bus = core.exchange_bus();
    let (tx, rx) = sync_channel::<Input>(64);
    let registry = ConnectorRegistry::with_builtin();
    let mut live_tasks = Vec::new();
    for venue in &traded_live {
        let connector = make_connector(&registry, *venue)?;
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        core.attach_venue(*venue, cmd_tx);
        let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: crate::execution::live::Sink = Arc::new(move |ev| ev_tx.send(ev).is_ok());
        let router = crate::execution::live::Router::new(connector, core.client_id_prefix(), sink);
        live_tasks.push(tokio::spawn(router.run(cmd_rx)));
        let core_tx = tx.clone();
        live_tasks.push(tokio::spawn(async move {
            while let Some(ev) = ev_rx.recv().await {
                if !send_input(&core_tx, Input::Live(Box::new(ev))).await {
                    return;
                }
            }
        }));
    }
    for venue in &live_feed {
        let connector = make_connector(&registry, *venue)?;
        let routes = feed_symbols.get(venue).cloned().unwrap_or_default();
        live_tasks.push(tokio::spawn(live_market_data(connector, routes, symbols.clone(), tx.clone())));
    }
    let core_thread = std::thread::Builder::new()
        .name("core".into())
        .spawn(move || core.run(rx, settings.busy_poll))
        .map_err(|e| StartError::Io(e.to_string()))?;
    // Should the start fail from here on, the core thread stops instead of waiting (or,
    // with `--busy-poll`, spinning) for inputs that never come.
    let mut stop_core = StopCoreOnError(Some(tx.clone()));

    let stop_feed = Arc::new(AtomicBool::new(false));
    let feed_thread = match feed {
        Some(feed) => Some(spawn_feed(feed, settings.speed, tx.clone(), stop_feed.clone())?),
        None => None,
    };
    let watch_tx = tx.clone();
    let _watcher = watcher::spawn(loader, plugin_dir.clone(), settings.config_path.clone(), settings.env, move |e| {
        watch_tx.send(Input::Watch(e)).is_ok()
    })
    .map_err(|e| StartError::Io(format!("cannot watch {}: {e}", plugin_dir.display())))?;

    let bind = match &settings.api_key {
        Some(_) => settings.bind,
        None => {
            tracing::warn!(
                "no TRADEHOST_API_KEY set: the API listens on 127.0.0.1 only and mutating endpoints are open to local users"
            );
            IpAddr::from([127, 0, 0, 1])
        }
    };
    let per_minute = std::env::var("RATE_LIMIT_PER_MINUTE").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(600);
    let vault = crate::connectors::vault::Vault::from_env().map_err(|e| StartError::Io(e.to_string()))?;
    let connections =
        crate::connectors::manager::Connections::load(registry.clone(), vault, Some(&settings.db), settings.env);
    let state = AppState {
        connections: Some(Arc::new(connections)),
        core: tx.clone(),
        bus,
        api_key: settings.api_key.map(Arc::from),
        exchange_bus,
        rate_limit: Arc::new(crate::api::rate_limit::RateLimiter::new(per_minute)),
    };
    let rest = TcpListener::bind((bind, settings.port))
        .await
        .map_err(|e| StartError::Io(format!("cannot bind {bind}:{}: {e}", settings.port)))?;
    let ws = TcpListener::bind((bind, settings.ws_port))
        .await
        .map_err(|e| StartError::Io(format!("cannot bind {bind}:{}: {e}", settings.ws_port)))?;
    let bound = Bound {
        rest: rest.local_addr().map_err(|e| StartError::Io(e.to_string()))?,
        ws: ws.local_addr().map_err(|e| StartError::Io(e.to_string()))?,
    };
    tracing::info!(rest = %bound.rest, ws = %bound.ws, docs = %format!("http://{}/docs", bound.rest), "listening");
    on_bound(bound);

    let (stop_tx, _) = broadcast::channel::<()>(1);
    let serve = |listener: TcpListener, router: axum::Router| {
        let mut stop = stop_tx.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.recv().await;
                })
                .await;
        })
    };
    let rest_task = serve(rest, api::router(state.clone()));
    let ws_task = serve(ws, api::ws_router(state));
    stop_core.0 = None;
    shutdown.await;
    tracing::info!("shutting down: stopping the feed, flushing state");
    if !traded_live.is_empty() {
        // Ctrl-C is a kill switch for real money: cancel open exchange orders before leaving.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let q: crate::core::Query = Box::new(move |core: &mut Core| {
            let _ = done_tx.send(core.cancel_live_orders_on_exit());
        });
        if send_input(&tx, Input::Query(q)).await
            && let Ok(Ok((n, drained))) = tokio::time::timeout(std::time::Duration::from_secs(2), done_rx).await
        {
            if n > 0 {
                tracing::warn!(orders = n, "canceling open exchange orders before exit");
            }
            // Until every venue's requests are done (a placement still unanswered is
            // canceled once it is), within reason.
            let all = futures_util::future::join_all(drained);
            if tokio::time::timeout(std::time::Duration::from_secs(10), all).await.is_err() {
                tracing::error!(
                    "exchange requests still unanswered after 10 s; exiting anyway: check open orders on the exchange"
                );
            }
        }
    }
    for t in &live_tasks {
        t.abort();
    }
    stop_feed.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(());
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(f) = feed_thread {
            let _ = f.join();
        }
        let _ = tx.send(Input::Shutdown);
        let _ = core_thread.join();
    })
    .await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let _ = rest_task.await;
        let _ = ws_task.await;
    })
    .await;
    tracing::info!("stopped");
    Ok(())
}

/// Exchanges the configured strategies trade on.
fn venues_of(config: &PluginsConfig) -> Vec<ExchangeId> {
    config.traded_exchanges()
}

/// One pair streamed from an exchange and the market names its events are published under:
/// the bare name (`BTCUSDT`) for instances that take the pair from this feed, the qualified
/// one (`bybit:BTCUSDT`) for instances that name the exchange.
type FeedRoute = (String, Vec<String>);

/// What to stream from each live feed venue: a qualified market from its own exchange; a
/// bare symbol from the exchange its instance trades on, or else from the first venue.
fn live_symbols(
    config: &PluginsConfig,
    venues: &[ExchangeId],
) -> std::collections::HashMap<ExchangeId, Vec<FeedRoute>> {
    let mut out: std::collections::HashMap<ExchangeId, Vec<FeedRoute>> = Default::default();
    for s in config.strategies.iter().filter(|s| s.enabled) {
        for sym in &s.symbols {
            let venue = match (sym.venue().and_then(ExchangeId::parse), ExchangeId::parse(&s.venue)) {
                (Some(v), _) => v,
                (None, Some(v)) if venues.contains(&v) => v,
                _ => match venues.first() {
                    Some(v) => *v,
                    None => continue,
                },
            };
            let routes = out.entry(venue).or_default();
            let pos = match routes.iter().position(|(pair, _)| pair == sym.pair()) {
                Some(i) => i,
                None => {
                    routes.push((sym.pair().to_string(), Vec::new()));
                    routes.len() - 1
                }
            };
            if !routes[pos].1.contains(&sym.name) {
                routes[pos].1.push(sym.name.clone());
            }
        }
    }
    out
}

fn make_connector(
    registry: &ConnectorRegistry,
    venue: ExchangeId,
) -> Result<Arc<dyn crate::connectors::Connector>, StartError> {
    let settings = ConnectorSettings::from_env(venue).map_err(StartError::Io)?;
    tracing::info!(%venue, testnet = settings.testnet, keys = settings.credentials.is_some(), rest = ?settings.rest_url, "connecting");
    registry.create(venue.as_str(), settings).map_err(|e| StartError::Io(e.to_string()))
}

/// Send to the core from async code without blocking a runtime thread.
pub(crate) async fn send_input(tx: &SyncSender<Input>, input: Input) -> bool {
    let mut input = input;
    loop {
        match tx.try_send(input) {
            Ok(()) => return true,
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return false,
            Err(std::sync::mpsc::TrySendError::Full(back)) => {
                input = back;
                tokio::time::sleep(std::time::Duration::from_micros(200)).await;
            }
        }
    }
}

/// Sends the core thread `Shutdown` when dropped armed: a start that fails after the core
/// thread began leaves no thread behind.
struct StopCoreOnError(Option<SyncSender<Input>>);

impl Drop for StopCoreOnError {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Input::Shutdown);
        }
    }
}

/// Stream trades and best bid/ask of `names` from an exchange into the core, with a
/// clock event every 250 ms (exchange time minus one second of grace for late frames)
/// so candles close on the minute even in a quiet market.
async fn live_market_data(
    connector: Arc<dyn crate::connectors::Connector>,
    routes: Vec<FeedRoute>,
    symbols: SharedSymbols,
    tx: SyncSender<Input>,
) {
    use crate::connectors::{StreamEvent, Subscription};
    let venue = connector.exchange();
    let offset = match connector.server_time().await {
        Ok(server) => server - crate::connectors::rest::RestClient::local_ms(),
        Err(e) => {
            tracing::warn!(%venue, error = %e, "cannot read the exchange clock; using the local one");
            0
        }
    };
    let mut subs = Vec::new();
    let mut cache = feeds::SymbolCache::new(symbols);
    // The exchange's pair id -> the market ids its events are published under.
    let mut publish: std::collections::HashMap<crate::market_data::SymbolId, Vec<crate::market_data::SymbolId>> =
        Default::default();
    for (pair, names) in &routes {
        subs.push(Subscription::Trades(pair.clone()));
        subs.push(Subscription::BookTicker(pair.clone()));
        let (Ok(id), Ok(ids)) = (cache.resolve(pair), names.iter().map(|n| cache.resolve(n)).collect()) else {
            tracing::error!(%venue, %pair, "not a symbol");
            continue;
        };
        publish.insert(id, ids);
    }
    let mut handle = match connector.stream(subs, false) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(%venue, error = %e, "no market data stream");
            return;
        }
    };
    let mut clock = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut last_trade_ms = i64::MIN;
    let mut repairs: Vec<Repair> = Vec::new();
    loop {
        let event = tokio::select! {
            ev = handle.events.recv() => match ev {
                Some(ev) => ev,
                None => return,
            },
            _ = clock.tick() => {
                let now = crate::connectors::rest::RestClient::local_ms() + offset - 1000;
                if now > last_trade_ms {
                    if !send_input(&tx, Input::Market(vec![FeedEvent::Clock(now)])).await {
                        return;
                    }
                    // Only a clock the core got closes minutes there.
                    start_repairs(&mut repairs, Closing::Clock(now), &connector, &tx);
                }
                continue;
            }
        };
        let ids = |cache: &mut feeds::SymbolCache, name: &str| {
            cache.resolve(name).ok().and_then(|id| publish.get(&id)).map(Vec::as_slice).unwrap_or_default()
        };
        let mut traded = None;
        let batch: Vec<FeedEvent> = match event {
            StreamEvent::Trade(t) => {
                traded = Some((t.symbol.clone(), t.time_ms));
                crate::connectors::latency::stage("1 trade decoded, to the core");
                last_trade_ms = last_trade_ms.max(t.time_ms);
                ids(&mut cache, &t.symbol).iter().map(|&id| FeedEvent::Trade(t.tick(id))).collect()
            }
            StreamEvent::Quote(q) => ids(&mut cache, &q.symbol).iter().map(|&id| FeedEvent::Book(q.book(id))).collect(),
            StreamEvent::Connected { attempt } => {
                tracing::info!(%venue, attempt, "market data connected");
                continue;
            }
            StreamEvent::Disconnected { reason } => {
                tracing::warn!(%venue, %reason, "market data disconnected; reconnecting");
                continue;
            }
            StreamEvent::GapFilled { symbol, from, to, recovered } => {
                tracing::warn!(%venue, %symbol, from, to, recovered, "trade gap filled over REST");
                continue;
            }
            StreamEvent::TradesMissed { symbol, after_ms, before_ms, .. } => {
                // The session logged the sequences; say which candles it touches (up to the
                // resumed stream when the end is unknown) and repair them once closed.
                let to_minute_ms = before_ms.map(minute_of);
                tracing::error!(
                    %venue, %symbol, from_minute_ms = minute_of(after_ms), ?to_minute_ms,
                    "candles of these minutes are incomplete (trades were lost during a reconnect): \
                     they are replaced by the venue's klines once closed"
                );
                let markets = ids(&mut cache, &symbol).to_vec();
                let reported = std::time::Instant::now();
                repairs.push(Repair {
                    pair: symbol,
                    markets,
                    from_ms: minute_of(after_ms),
                    to_ms: to_minute_ms,
                    reported,
                });
                continue;
            }
            _ => continue,
        };
        if !batch.is_empty() && !send_input(&tx, Input::Market(batch)).await {
            return;
        }
        if let Some((pair, ms)) = traded.as_ref().filter(|_| !repairs.is_empty()) {
            start_repairs(&mut repairs, Closing::Trade(pair, *ms), &connector, &tx);
        }
    }
}

/// Minutes of one market whose candles were built without every trade.
#[derive(Debug)]
struct Repair {
    /// The exchange's pair, as its stream names it.
    pair: String,
    /// The markets its candles are published under.
    markets: Vec<crate::market_data::SymbolId>,
    /// First and last affected minute; the last is unknown until the stream resumes.
    from_ms: i64,
    to_ms: Option<i64>,
    /// When the loss was reported.
    reported: std::time::Instant,
}

/// Most minutes one repair asks for (the smallest kline page of the four venues).
const REPAIR_MAX_MINUTES: i64 = 1_000;
/// How long after its minutes closed (in event time) a repair asks for them: the venue's
/// own candle of a minute that just ended may still take its last trades.
const REPAIR_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60_000
}

/// What just went to the core: a trade of one pair, or a clock tick (event times, ms).
#[derive(Debug, Clone, Copy)]
enum Closing<'a> {
    Trade(&'a str, i64),
    Clock(i64),
}

/// Fetch the venue's candles for every repair whose minutes have all closed: a trade
/// closes its own pair's minutes, a clock tick (one the core got) every pair's. An
/// open-ended repair (the catch-up gave up) ends at the minute of the next trade of its
/// pair, the first of the resumed stream; in a market quiet for a minute after the
/// report, at the clock's. The events that closed the minutes went to the core first, so
/// the repaired candles reach it after the candles they replace (and the core keeps a
/// repair of a minute it has not closed until it does).
fn start_repairs(
    repairs: &mut Vec<Repair>,
    closing: Closing<'_>,
    connector: &Arc<dyn crate::connectors::Connector>,
    tx: &SyncSender<Input>,
) {
    let time_for = |r: &Repair| match closing {
        Closing::Trade(pair, ms) if pair == r.pair => Some(ms),
        Closing::Trade(..) => None,
        Closing::Clock(now) => Some(now),
    };
    for r in repairs.iter_mut().filter(|r| r.to_ms.is_none()) {
        let ends = match closing {
            Closing::Trade(..) => true,
            Closing::Clock(_) => r.reported.elapsed() >= std::time::Duration::from_secs(60),
        };
        if ends {
            r.to_ms = time_for(r).map(|t| minute_of(t).max(r.from_ms));
        }
    }
    let closed_by = time_for;
    let (due, wait): (Vec<Repair>, Vec<Repair>) = std::mem::take(repairs)
        .into_iter()
        .partition(|r| r.to_ms.zip(closed_by(r)).is_some_and(|(to, t)| t >= to + 60_000));
    *repairs = wait;
    for r in due {
        tokio::spawn(repair_candles(connector.clone(), r, tx.clone()));
    }
}

/// One repair: the venue's klines for the minutes, as candles of each market, to the core.
async fn repair_candles(connector: Arc<dyn crate::connectors::Connector>, r: Repair, tx: SyncSender<Input>) {
    let venue = connector.exchange();
    let to = r.to_ms.unwrap_or(r.from_ms);
    let minutes = (to - r.from_ms) / 60_000 + 1;
    if minutes > REPAIR_MAX_MINUTES {
        tracing::error!(%venue, symbol = %r.pair, minutes, "too many minutes to repair: the first {REPAIR_MAX_MINUTES} are");
    }
    tokio::time::sleep(REPAIR_GRACE).await;
    let mut attempt = 0;
    let klines = loop {
        attempt += 1;
        match connector.klines_1m(&r.pair, r.from_ms, minutes.clamp(1, REPAIR_MAX_MINUTES) as usize).await {
            Ok(k) => break k,
            Err(e) if attempt < 3 => {
                tracing::warn!(%venue, symbol = %r.pair, error = %e, attempt, "kline request for a repair failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
            }
            Err(e) => {
                tracing::error!(%venue, symbol = %r.pair, error = %e, from_minute_ms = r.from_ms, to_minute_ms = to,
                    "candles not repaired: the venue's klines could not be read; they stay as built");
                return;
            }
        }
    };
    // The minutes closed by the venue's own event times (the trades that followed them), so
    // its candles of them are final whatever its `closed` flag says by the local clock.
    let candles: Vec<crate::market_data::Candle> = klines
        .iter()
        .filter(|k| (r.from_ms..=to).contains(&k.open_time_ms))
        .flat_map(|k| {
            r.markets.iter().map(move |&symbol| crate::market_data::Candle {
                symbol,
                open_time_ms: k.open_time_ms,
                close_time_ms: k.open_time_ms + 59_999,
                open: k.open,
                high: k.high,
                low: k.low,
                close: k.close,
                volume: k.volume,
                // Klines carry no trade count or taker volumes on every venue: unknown.
                quote_volume: rust_decimal::Decimal::ZERO,
                trades: 0,
                taker_buy_base: rust_decimal::Decimal::ZERO,
                taker_buy_quote: rust_decimal::Decimal::ZERO,
            })
        })
        .collect();
    tracing::info!(%venue, symbol = %r.pair, minutes, candles = candles.len(), "repairing candles from the venue's klines");
    if !candles.is_empty() {
        send_input(&tx, Input::Repair(candles)).await;
    }
}

/// A pull feed; `markets` are the venue-qualified markets the strategies want (a synthetic
/// stand-in each, or a recording's frames of that venue).
fn open_feed(
    choice: &FeedChoice,
    symbols: &SharedSymbols,
    markets: &[crate::market_data::SymbolInfo],
) -> Result<Box<dyn Feed>, StartError> {
    Ok(match choice {
        FeedChoice::Synthetic { seed, start_ms } => Box::new(
            feeds::synthetic::SyntheticFeed::new(
                *seed,
                *start_ms,
                &feeds::synthetic::default_markets(),
                symbols.clone(),
            )?
            .with_venues(markets)?,
        ),
        FeedChoice::Replay(paths) => {
            let config =
                feeds::ReplayConfig { markets: markets.iter().map(|m| m.name.clone()).collect(), ..Default::default() };
            feeds::open_replay_with(paths, symbols.clone(), &config)?
        }
        FeedChoice::Live(_) | FeedChoice::Auto { .. } => {
            return Err(StartError::Io("a live feed is not a pull feed".into()));
        }
    })
}

/// Pull events from the feed on its own thread, pace them, and send them in batches.
fn spawn_feed(
    mut feed: Box<dyn Feed>,
    speed: f64,
    tx: SyncSender<Input>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, StartError> {
    std::thread::Builder::new()
        .name("feed".into())
        .spawn(move || {
            let mut pacer = Pacer::new(speed);
            let mut batch: Vec<FeedEvent> = Vec::with_capacity(BATCH);
            let send =
                |batch: &mut Vec<FeedEvent>| batch.is_empty() || tx.send(Input::Market(std::mem::take(batch))).is_ok();
            while !stop.load(Ordering::Relaxed) {
                match feed.next_event() {
                    Ok(Some(ev)) => {
                        if let Some(t) = ev.time_ms().filter(|_| speed > 0.0)
                            && let Some(wait) = pacer.delay(t, std::time::Instant::now())
                        {
                            if !send(&mut batch) {
                                return;
                            }
                            std::thread::sleep(wait);
                        }
                        batch.push(ev);
                        if batch.len() >= BATCH && !send(&mut batch) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) if e.is_bad_input() => tracing::warn!(error = %e, "skipping bad feed input"),
                    Err(e) => {
                        tracing::error!(error = %e, "feed failed");
                        break;
                    }
                }
            }
            if send(&mut batch) && !stop.load(Ordering::Relaxed) {
                let _ = tx.send(Input::FeedEnded);
            }
        })
        .map_err(|e| StartError::Io(e.to_string()))
}
