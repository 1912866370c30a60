//! Compiling strategy components: one shared `wasmtime::Engine`, contract-version
//! checks, and precompiled artefacts cached by content hash (in memory and on disk).

use super::PluginError;
use super::bindings::{CONTRACT_PACKAGE, CONTRACT_VERSION, HostState, StrategyPre};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

/// Epoch ticks per second: a call's deadline is counted in these.
pub const EPOCH_TICKS_PER_SEC: u64 = 1000;

/// A compiled, contract-checked component ready to instantiate.
pub struct LoadedModule {
    /// Where it was read from.
    pub path: PathBuf,
    /// SHA-256 of the `.wasm` bytes, hex.
    pub hash: String,
    /// The contract version the component was built against.
    pub contract_version: String,
    /// Pre-linked instance factory.
    pub pre: StrategyPre<HostState>,
    /// Compile (or cache load) time in ms.
    pub load_ms: f64,
    /// The engine it was compiled for.
    pub engine: Engine,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule").field("path", &self.path).field("hash", &self.hash).finish()
    }
}

/// Compiles components; cheap to clone and safe to use from any thread.
#[derive(Clone)]
pub struct Loader {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache_dir: Option<PathBuf>,
    loaded: Arc<Mutex<HashMap<String, Arc<LoadedModule>>>>,
    counters: Arc<Counters>,
}

/// How modules were obtained: compiled, or loaded from the on-disk artefact cache.
#[derive(Debug, Default)]
pub struct Counters {
    /// Components compiled with cranelift.
    pub compiled: AtomicU64,
    /// Components loaded from a cached artefact.
    pub cache_hits: AtomicU64,
}

impl Loader {
    /// A loader with its own engine; artefacts are cached in `cache_dir` when given.
    /// Starts the thread that advances the engine's epoch.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true).consume_fuel(true).epoch_interruption(true).concurrency_support(false);
        // For profiling strategies with `perf` (or any tool that reads `/tmp/perf-<pid>.map`):
        // names the compiled guest functions. Off by default: it writes a line per function.
        if std::env::var_os("TRADEHOST_PERF_MAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        super::bindings::Strategy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Engine(e.to_string()))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                let tick = std::time::Duration::from_micros(1_000_000 / EPOCH_TICKS_PER_SEC);
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(tick);
                }
            })
            .map_err(|e| PluginError::Engine(e.to_string()))?;
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| PluginError::Io { path: dir.clone(), reason: e.to_string() })?;
        }
        Ok(Loader {
            engine,
            linker: Arc::new(linker),
            cache_dir,
            loaded: Default::default(),
            counters: Default::default(),
        })
    }

    /// How many modules were compiled and how many came from the artefact cache.
    pub fn counters(&self) -> (u64, u64) {
        (self.counters.compiled.load(Ordering::Relaxed), self.counters.cache_hits.load(Ordering::Relaxed))
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Read, hash, compile (or fetch from cache) and check a component file.
    pub fn load_file(&self, path: &Path) -> Result<Arc<LoadedModule>, PluginError> {
        let bytes = std::fs::read(path).map_err(|e| PluginError::Io { path: path.into(), reason: e.to_string() })?;
        self.load_bytes(path, &bytes)
    }

    /// Compile (or fetch from cache) and check component bytes read from `path`.
    pub fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Arc<LoadedModule>, PluginError> {
        let started = Instant::now();
        let hash = hex(&Sha256::digest(bytes));
        if let Some(m) = self.loaded.lock().ok().and_then(|l| l.get(&hash).cloned())
            && m.path == path
        {
            return Ok(m);
        }
        let component = self.compile_cached(path, &hash, bytes)?;
        let contract_version = check_contract(&self.engine, &component, path)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link { path: path.into(), reason: format!("{e:#}") })?;
        let pre = StrategyPre::new(instance_pre)
            .map_err(|e| PluginError::Contract { path: path.into(), reason: format!("{e:#}") })?;
        let module = Arc::new(LoadedModule {
            path: path.into(),
            hash: hash.clone(),
            contract_version,
            pre,
            load_ms: started.elapsed().as_secs_f64() * 1e3,
            engine: self.engine.clone(),
        });
        if let Ok(mut l) = self.loaded.lock() {
            l.insert(hash, module.clone());
        }
        Ok(module)
    }

    fn compile_cached(&self, path: &Path, hash: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        let cached = self.cache_dir.as_ref().map(|d| d.join(format!("{hash}-wasmtime{}.cwasm", wasmtime_version())));
        if let Some(file) = &cached
            && let Some(c) = load_artefact(&self.engine, file)
        {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(c);
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| PluginError::Compile { path: path.into(), reason: format!("{e:#}") })?;
        self.counters.compiled.fetch_add(1, Ordering::Relaxed);
        if let (Some(file), Ok(serialized)) = (&cached, component.serialize()) {
            // A failed cache write only costs a recompile next time.
            let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
            if std::fs::write(&tmp, serialized).and_then(|_| std::fs::rename(&tmp, file)).is_err() {
                tracing::warn!(path = %file.display(), "could not write compiled artefact cache");
            }
        }
        Ok(component)
    }
}

fn wasmtime_version() -> &'static str {
    "48.0.8"
}

/// Load a cached artefact written by this host; any problem means "recompile".
#[allow(unsafe_code)]
fn load_artefact(engine: &Engine, file: &Path) -> Option<Component> {
    if !file.is_file() {
        return None;
    }
    // Read into memory rather than mmap the file: a file truncated by another process
    // while mapped would fault (SIGBUS) instead of failing cleanly.
    let bytes = std::fs::read(file).ok()?;
    // SAFETY: the bytes come from the host's private cache directory, from a file named
    // by the SHA-256 of the source component and the wasmtime version and produced by
    // `Component::serialize` with this engine configuration (written to a temp file and
    // renamed, so never half-written). wasmtime also checks the header and the engine's
    // compatibility and returns an error on mismatch, which means "recompile".
    match unsafe { Component::deserialize(engine, &bytes) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %file.display(), error = %e, "ignoring unusable cached artefact");
            None
        }
    }
}

/// Find the contract the component implements and refuse other versions.
fn check_contract(engine: &Engine, component: &Component, path: &Path) -> Result<String, PluginError> {
    let ty = component.component_type();
    let prefix = format!("{CONTRACT_PACKAGE}/guest@");
    let export = ty.exports(engine).map(|(name, _)| name.to_string()).find(|n| n.starts_with(&prefix));
    let Some(name) = export else {
        let names: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
        return Err(PluginError::Contract {
            path: path.into(),
            reason: format!(
                "missing export `{CONTRACT_PACKAGE}/guest@{CONTRACT_VERSION}` (the component exports [{}]); build it with tradehost-sdk's export_strategy!",
                names.join(", ")
            ),
        });
    };
    let version = name[prefix.len()..].to_string();
    if major_minor(&version) != major_minor(CONTRACT_VERSION) {
        return Err(PluginError::Version {
            path: path.into(),
            found: format!("{CONTRACT_PACKAGE}@{version}"),
            expected: format!("{CONTRACT_PACKAGE}@{CONTRACT_VERSION}"),
        });
    }
    Ok(version)
}

fn major_minor(v: &str) -> (&str, &str) {
    let mut parts = v.split('.');
    (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
