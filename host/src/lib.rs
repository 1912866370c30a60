//! tradehost: a host for sandboxed, hot-reloadable WebAssembly trading strategies.
//!
//! | module | owns |
//! | --- | --- |
//! | [`market_data`] | ticks, the tick store, the 1m candle aggregator, feeds (synthetic, replay) |
//! | [`plugins`] | the wasmtime sandbox, strategy instances, hot reload |
//! | [`execution`] | orders, risk checks, paper accounts and the `Venue` trait |
//! | [`core`] | the deterministic event loop that ties them together |
//! | [`store`] | SQLite persistence |
//! | [`api`] | REST + WebSocket + OpenAPI |
//! | [`config`] | plugins.toml |
//! | [`app`] | starting and stopping the whole host |
#![deny(unsafe_code)]

pub mod api;
pub mod app;
pub mod config;
pub mod core;
pub mod execution;
pub mod market_data;
pub mod plugins;
pub mod store;
