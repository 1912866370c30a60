//! The `tradehost` binary: parse the command line, set up tracing, run the host until
//! Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::PathBuf;
use tradehost::app::{self, FeedChoice, RunSettings};

#[derive(Parser, Debug)]
#[command(name = "tradehost", version, about = "Host for sandboxed, hot-reloadable WebAssembly trading strategies")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    opts: Opts,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run on a live-like feed (default: the synthetic feed, paced in real time).
    Run,
    /// Replay recorded files (Binance WS recordings `<recv_ts_ns> <frame>`, gzip or plain,
    /// or data.binance.vision trade/aggTrade/kline CSVs), merged in event order.
    Replay {
        /// Files to replay.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Record an exchange's WebSocket frames as `<recv_ts_ns> <frame>` lines (trades, 1m
    /// klines, best bid/ask) for `tradehost replay`. Stops on Ctrl-C.
    Record(RecordArgs),
    /// Run every variant of plugins.toml over a data file as fast as possible and report
    /// trades, PnL, drawdown, Sharpe, ... as a table, `report.json` and `report.html`.
    Backtest(BacktestArgs),
}

#[derive(Args, Debug)]
struct RecordArgs {
    /// Exchange: binance, gateio, kucoin or bybit (testnet unless `<EXCHANGE>_TESTNET=false`).
    #[arg(long)]
    venue: String,
    /// Comma-separated symbols, e.g. `BTCUSDT,ETHUSDT`.
    #[arg(long, value_delimiter = ',', required = true)]
    symbols: Vec<String>,
    /// Output file (`.gz` compresses). Default: `<venue>-<UTC time>.txt.gz`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop after this many frames.
    #[arg(long)]
    max_frames: Option<u64>,
}

#[derive(Args, Debug)]
struct BacktestArgs {
    /// Data files: data.binance.vision klines / trades / aggTrades CSV, an OHLCV CSV, or
    /// recorded WS sessions.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Parameter grid, e.g. `--sweep sma_period=5..50 --sweep ema_period=3..20:1` or
    /// `--sweep stop_loss=0.05,0.1`.
    #[arg(long = "sweep")]
    sweep: Vec<String>,
    /// Taker fee rate for every variant (default: each account's from plugins.toml).
    #[arg(long)]
    fee: Option<rust_decimal::Decimal>,
    /// Adverse slippage on market and stop fills, in basis points.
    #[arg(long, default_value_t = 0)]
    slippage_bps: u32,
    /// Where to write report.json and report.html.
    #[arg(long, default_value = "backtest-report")]
    out: PathBuf,
    /// Threads for sweeps (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Call strategies once per candle instead of offering quiet stretches of candles in
    /// one call (the results are the same; for checking a strategy that behaves oddly).
    #[arg(long)]
    no_batch: bool,
}

#[derive(Args, Debug)]
struct Opts {
    /// plugins.toml: which strategies run, where, with which parameters.
    #[arg(long, global = true, env = "TRADEHOST_CONFIG", default_value = "plugins.toml")]
    config: PathBuf,
    /// Feed for `run`: `auto` (live from the exchanges plugins.toml trades on, else
    /// synthetic), `synthetic`, `live` / `live:binance,bybit`, or `replay` (needs `--replay-file`).
    #[arg(long, global = true, env = "TRADEHOST_FEED", default_value = "auto")]
    feed: String,
    /// Files for `--feed replay`.
    #[arg(long = "replay-file", global = true)]
    replay_files: Vec<PathBuf>,
    /// Pace: 0 = as fast as possible, 1 = real time, 60 = a minute per second.
    /// Default: 1 for synthetic, 0 for replay.
    #[arg(long, global = true, env = "TRADEHOST_SPEED")]
    speed: Option<f64>,
    /// SQLite database file.
    #[arg(long, global = true, env = "TRADEHOST_DB", default_value = "tradehost.db")]
    db: PathBuf,
    /// Compiled strategy cache (default: `<db file>.cache/`).
    #[arg(long, global = true, env = "TRADEHOST_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// REST port (0 = any free port).
    #[arg(long, global = true, env = "API_PORT", default_value_t = 8000)]
    port: u16,
    /// WebSocket port (0 = any free port).
    #[arg(long, global = true, env = "WS_PORT", default_value_t = 8001)]
    ws_port: u16,
    /// Address to listen on when an API key is set (without one: 127.0.0.1 only).
    #[arg(long, global = true, env = "TRADEHOST_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Seed of the synthetic feed.
    #[arg(long, global = true, env = "TRADEHOST_SEED", default_value_t = 42)]
    seed: u64,
    /// Event time of the synthetic feed's first trade, ms (default: now, on a minute).
    #[arg(long, global = true)]
    start_ms: Option<i64>,
    /// Log format.
    #[arg(long, global = true, env = "TRADEHOST_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Lower tick-to-order latency for live trading at the cost of one CPU: the core thread
    /// polls for the next event instead of sleeping (README, "Latency").
    #[arg(long, global = true, env = "TRADEHOST_BUSY_POLL")]
    busy_poll: bool,
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn main() -> anyhow::Result<()> {
    // `.env` first, so clap's `env = ...` and plugins.toml overrides see it.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    // A backtest logs every order at info level: show warnings only unless RUST_LOG says otherwise.
    let quiet = matches!(cli.command, Some(Command::Backtest(_)));
    init_tracing(&cli.opts.log_format, if quiet { "warn" } else { "info,wasmtime=warn,cranelift=warn" });
    let o = cli.opts;
    if let Some(Command::Backtest(args)) = cli.command {
        return backtest(args, &o);
    }
    if let Some(Command::Record(args)) = cli.command {
        return record(args);
    }
    let feed = match (&cli.command, o.feed.as_str()) {
        (Some(Command::Replay { files }), _) => FeedChoice::Replay(files.clone()),
        (_, "replay") if !o.replay_files.is_empty() => FeedChoice::Replay(o.replay_files.clone()),
        (_, "replay") => {
            anyhow::bail!("--feed replay needs at least one --replay-file (or use `tradehost replay FILE...`)")
        }
        (_, "synthetic") => FeedChoice::Synthetic { seed: o.seed, start_ms: o.start_ms.unwrap_or_else(now_on_minute) },
        (_, "auto") => FeedChoice::Auto { seed: o.seed, start_ms: o.start_ms.unwrap_or_else(now_on_minute) },
        (_, "live") => FeedChoice::Live(Vec::new()),
        (_, other) if other.starts_with("live:") => {
            let mut venues = Vec::new();
            for name in other["live:".len()..].split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let v = tradehost::connectors::ExchangeId::parse(name).with_context(|| {
                    format!("unknown exchange `{name}` in --feed: use binance, gateio, kucoin or bybit")
                })?;
                venues.push(v);
            }
            FeedChoice::Live(venues)
        }
        (_, other) => anyhow::bail!("unknown feed `{other}`: use auto, synthetic, live, live:<exchange,...> or replay"),
    };
    let speed = o.speed.unwrap_or(match feed {
        FeedChoice::Synthetic { .. } | FeedChoice::Auto { .. } | FeedChoice::Live(_) => 1.0,
        FeedChoice::Replay(_) => 0.0,
    });
    anyhow::ensure!(speed.is_finite() && speed >= 0.0, "--speed must be 0 or a positive number");
    let cache_dir = o.cache_dir.unwrap_or_else(|| {
        let mut s = o.db.clone().into_os_string();
        s.push(".cache");
        PathBuf::from(s)
    });
    let api_key = std::env::var("TRADEHOST_API_KEY").ok().filter(|k| !k.trim().is_empty());
    let settings = RunSettings {
        config_path: o.config,
        feed,
        speed,
        db: o.db,
        cache_dir,
        bind: o.bind,
        port: o.port,
        ws_port: o.ws_port,
        api_key,
        env: env_lookup,
        busy_poll: o.busy_poll,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let shutdown = {
        let _in_runtime = runtime.enter();
        shutdown_signal()
    };
    runtime.block_on(app::run(
        settings,
        |b| {
            // One machine-readable line on stdout (logs go to stderr).
            println!("tradehost listening rest=http://{} ws=ws://{}", b.rest, b.ws);
        },
        shutdown,
    ))?;
    Ok(())
}

fn backtest(args: BacktestArgs, o: &Opts) -> anyhow::Result<()> {
    use tradehost::backtest::{self, BacktestSettings, Sweep, report};
    let config = tradehost::config::PluginsConfig::load(&o.config, &env_lookup)?;
    let settings = BacktestSettings {
        files: args.files.clone(),
        config,
        sweep: Sweep::parse(&args.sweep).map_err(anyhow::Error::msg)?,
        cache_dir: Some(o.cache_dir.clone().unwrap_or_else(|| PathBuf::from("tradehost.db.cache"))),
        fee: args.fee,
        slippage: rust_decimal::Decimal::new(i64::from(args.slippage_bps), 4),
        threads: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        batch_candles: !args.no_batch,
        progress: Some(show_progress),
    };
    let started = std::time::Instant::now();
    let results = backtest::run(&settings)?;
    let elapsed = started.elapsed().as_secs_f64();
    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let json_path = args.out.join("report.json");
    // Compact and buffered: a long backtest's trade log is large.
    let mut out = std::io::BufWriter::new(std::fs::File::create(&json_path)?);
    serde_json::to_writer(&mut out, &report::json(&files, &results, elapsed))?;
    std::io::Write::flush(&mut out)?;
    let html_path = args.out.join("report.html");
    std::fs::write(&html_path, report::html(&files, &results))?;
    print!("{}", report::table(&results));
    println!(
        "{} variants in {:.2} s; reports: {} {}",
        results.len(),
        elapsed,
        json_path.display(),
        html_path.display()
    );
    Ok(())
}

fn record(args: RecordArgs) -> anyhow::Result<()> {
    use tradehost::connectors::{ConnectorRegistry, ConnectorSettings, ExchangeId, record};
    let venue = ExchangeId::parse(&args.venue)
        .with_context(|| format!("unknown venue `{}`: use binance, gateio, kucoin or bybit", args.venue))?;
    let mut symbols = Vec::new();
    for s in &args.symbols {
        let info = tradehost::market_data::SymbolInfo::parse(s)
            .with_context(|| format!("`{s}` is not a symbol like BTCUSDT"))?;
        symbols.push(info.name);
    }
    let settings = ConnectorSettings::from_env(venue).map_err(anyhow::Error::msg)?;
    let testnet = settings.testnet;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.txt.gz", venue, chrono::Utc::now().format("%Y%m%dT%H%M%SZ"))));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let stats = runtime.block_on(async {
        let connector = ConnectorRegistry::with_builtin().create(venue.as_str(), settings)?;
        tracing::info!(%venue, testnet, symbols = ?symbols, out = %out.display(), "recording; Ctrl-C stops");
        record::record(connector, &symbols, &out, args.max_frames, shutdown_signal()).await
    })?;
    println!("recorded {} frames ({} reconnects) to {}", stats.frames, stats.reconnects, out.display());
    Ok(())
}

/// The backtest's progress line on stderr (redrawn in place).
fn show_progress(p: tradehost::backtest::Progress) {
    let when = chrono::DateTime::from_timestamp_millis(p.event_time_ms).map(|t| t.format("%Y-%m-%d %H:%M").to_string());
    if p.done {
        eprintln!("\r  {} events, {:.0}/s{:30}", p.events, p.rate, "");
    } else {
        eprint!("\r  {} events, {:.0}/s, at {}   ", p.events, p.rate, when.unwrap_or_default());
    }
}

fn now_on_minute() -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    now - now.rem_euclid(60_000)
}

fn init_tracing(format: &str, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called (in the runtime),
/// not when the future is first polled: a stop that comes while the host is still starting,
/// or before its main task reaches the wait, still shuts it down gracefully instead of
/// killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (term, int) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
        async move {
            match (term, int) {
                (Ok(mut t), Ok(mut i)) => {
                    tokio::select! {
                        _ = t.recv() => {},
                        _ = i.recv() => {},
                    }
                }
                (Ok(mut t), Err(_)) => {
                    t.recv().await;
                }
                (Err(_), Ok(mut i)) => {
                    i.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
