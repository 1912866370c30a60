//! tradehost: a host for sandboxed, hot-reloadable WebAssembly trading strategies.
//!
//! | module | owns |
//! | --- | --- |
//! | [`market_data`] | ticks, the tick store, the 1m candle aggregator, feeds (synthetic, replay) |
//! | [`plugins`] | the wasmtime sandbox, strategy instances, hot reload |
//! | [`execution`] | orders, risk checks, paper accounts and the `Venue` trait |
//! | [`matching`] | the paper exchange: order books, matching, wallets |
//! | [`core`] | the deterministic event loop that ties them together |
//! | [`store`] | SQLite persistence |
//! | [`api`] | REST + WebSocket + OpenAPI |
//! | [`alerts`] | price alerts |
//! | [`config`] | plugins.toml |
//! | [`connectors`] | Binance, Gate.io, KuCoin and Bybit behind one `Connector` interface |
//! | [`app`] | starting and stopping the whole host |
//! | [`backtest`] | metrics of strategy variants (backtests and live comparison) |
#![deny(unsafe_code)]

pub mod alerts;
pub mod api;
pub mod app;
pub mod backtest;
pub mod config;
pub mod connectors;
pub mod core;
pub mod execution;
pub mod market_data;
pub mod matching;
pub mod plugins;
pub mod store;
