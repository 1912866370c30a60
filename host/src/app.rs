//! Wiring: open the store, load strategies, start the feed, the core loop, the
//! watcher and the API servers; stop them in order on shutdown.

use crate::api::{self, AppState};
use crate::config::PluginsConfig;
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
    let symbols: SharedSymbols = feeds::shared_symbols();
    let feed = open_feed(&settings.feed, &symbols)?;
    let (feed_name, skip_first_partial) = match &settings.feed {
        FeedChoice::Synthetic { seed, .. } => (format!("synthetic(seed={seed})"), !feed.starts_on_minute_boundary()),
        FeedChoice::Replay(p) => (format!("replay({} files)", p.len()), !feed.starts_on_minute_boundary()),
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
    let core =
        Core::new(core_settings, symbols, PluginHost::new(loader.clone()), store, config, &modules, bus.clone())?;
    let exchange_bus = core.exchange_bus();
    let (tx, rx) = sync_channel::<Input>(64);
    let core_thread = std::thread::Builder::new()
        .name("core".into())
        .spawn(move || core.run(rx))
        .map_err(|e| StartError::Io(e.to_string()))?;

    let stop_feed = Arc::new(AtomicBool::new(false));
    let feed_thread = spawn_feed(feed, settings.speed, tx.clone(), stop_feed.clone())?;
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
    let state = AppState {
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
    shutdown.await;
    tracing::info!("shutting down: stopping the feed, flushing state");
    stop_feed.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(());
    let _ = tokio::task::spawn_blocking(move || {
        let _ = feed_thread.join();
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

fn open_feed(choice: &FeedChoice, symbols: &SharedSymbols) -> Result<Box<dyn Feed>, StartError> {
    Ok(match choice {
        FeedChoice::Synthetic { seed, start_ms } => Box::new(feeds::synthetic::SyntheticFeed::new(
            *seed,
            *start_ms,
            &feeds::synthetic::default_markets(),
            symbols.clone(),
        )?),
        FeedChoice::Replay(paths) => feeds::open_replay(paths, symbols.clone())?,
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
