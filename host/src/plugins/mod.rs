//! The strategy sandbox: one wasmtime engine, one store per strategy instance, limits
//! per call, restart with backoff, and hot reload of modules and configuration.
//!
//! | file | owns |
//! | --- | --- |
//! | `bindings.rs` | the WIT contract (host side) and the store's host state |
//! | `loader.rs` | compiling, contract checks, the artefact cache |
//! | `instance.rs` | one sandboxed instance: calls, limits, failure and restart |
//! | `registry.rs` | every instance; event dispatch; applying new modules and config |
//! | `watcher.rs` | watching the plugin directory and plugins.toml |

pub mod bindings;
pub mod instance;
pub mod loader;
pub mod registry;
pub mod watcher;

pub use instance::{InstanceState, InstanceStats, PluginInstance};
pub use loader::{LoadedModule, Loader};
pub use registry::PluginHost;

use std::path::PathBuf;

/// What can go wrong loading or running a strategy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    /// The wasmtime engine could not be set up.
    #[error("wasm engine: {0}")]
    Engine(String),
    /// A file could not be read.
    #[error("{path}: {reason}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// Not a valid WebAssembly component.
    #[error("{path}: invalid component: {reason}", path = .path.display())]
    Compile {
        /// The file.
        path: PathBuf,
        /// wasmtime's reason.
        reason: String,
    },
    /// Built against another contract version.
    #[error("{path}: component built for contract {found}; this host speaks {expected}", path = .path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// The version the component was built for.
        found: String,
        /// The version this host speaks.
        expected: String,
    },
    /// Does not implement the contract.
    #[error("{path}: does not implement the strategy contract: {reason}", path = .path.display())]
    Contract {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// Imports something the host does not provide.
    #[error("{path}: cannot link: {reason}", path = .path.display())]
    Link {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A call into the strategy failed (trap, fuel, deadline, memory).
    #[error("{0}")]
    Trap(String),
    /// The strategy's `init` or `restore` returned an error.
    #[error("{0}")]
    Rejected(String),
}
