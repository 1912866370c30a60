//! Every strategy instance, and how new modules and new configuration are applied
//! while the host runs: build the new version aside, `init`, `restore` the old state,
//! swap between two events; on any failure keep the running version and report.

use super::instance::{InstanceState, PluginInstance};
use super::loader::{LoadedModule, Loader};
use crate::config::{PluginsConfig, StrategyConfig};
use crate::market_data::Symbols;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The result of loading each module a configuration names.
pub type ModuleResults = HashMap<PathBuf, Result<Arc<LoadedModule>, String>>;

/// All strategy instances.
pub struct PluginHost {
    loader: Loader,
    instances: Vec<PluginInstance>,
}

impl PluginHost {
    /// An empty host over a loader.
    pub fn new(loader: Loader) -> Self {
        PluginHost { loader, instances: Vec::new() }
    }

    /// The loader (shared with the watcher).
    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// Instances in configuration order.
    pub fn instances(&self) -> &[PluginInstance] {
        &self.instances
    }

    /// Instances, mutable, for event dispatch.
    pub fn instances_mut(&mut self) -> &mut [PluginInstance] {
        &mut self.instances
    }

    /// One instance by id.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut PluginInstance> {
        self.instances.iter_mut().find(|i| i.id() == id)
    }

    /// Load every module a configuration names (blocking; call off the core loop).
    pub fn load_modules(loader: &Loader, config: &PluginsConfig) -> ModuleResults {
        let mut out = ModuleResults::new();
        for s in &config.strategies {
            if !out.contains_key(&s.module) {
                let r = loader.load_file(&s.module).map_err(|e| e.to_string());
                out.insert(s.module.clone(), r);
            }
        }
        out
    }

    /// Bring the running set in line with `config`. `saved` holds snapshots from the
    /// store for instances not yet running. Returns one line per change, for the log.
    pub fn apply_config(
        &mut self,
        config: &PluginsConfig,
        modules: &ModuleResults,
        symbols: &mut Symbols,
        saved: &HashMap<String, Vec<u8>>,
    ) -> Vec<String> {
        let mut report = Vec::new();
        let mut next: Vec<PluginInstance> = Vec::new();
        for cfg in &config.strategies {
            let old = self.instances.iter().position(|i| i.id() == cfg.id).map(|i| self.instances.remove(i));
            next.push(self.reconcile(cfg, old, modules, symbols, saved, &mut report));
        }
        for gone in self.instances.drain(..) {
            report.push(format!("strategy `{}` removed", gone.id()));
        }
        self.instances = next;
        report
    }

    fn reconcile(
        &self,
        cfg: &StrategyConfig,
        old: Option<PluginInstance>,
        modules: &ModuleResults,
        symbols: &mut Symbols,
        saved: &HashMap<String, Vec<u8>>,
        report: &mut Vec<String>,
    ) -> PluginInstance {
        let module = modules.get(&cfg.module).cloned().unwrap_or_else(|| Err("module not loaded".into()));
        let same_module = |o: &PluginInstance| match (&o.module, &module) {
            (Some(a), Ok(b)) => a.hash == b.hash,
            _ => false,
        };
        let mut old = old;
        if let Some(unchanged) = old.take_if(|o| o.config == *cfg && (same_module(o) || module.is_err())) {
            return unchanged;
        }
        let interned = cfg.symbols.iter().filter_map(|s| symbols.intern(&s.name).map(|id| (id, s.clone()))).collect();
        let snapshot = match old.as_mut() {
            Some(o) => o.take_snapshot(),
            None => saved.get(&cfg.id).cloned().unwrap_or_default(),
        };
        let mut fresh = PluginInstance::new(cfg.clone(), interned, snapshot);
        if let Some(o) = &old {
            fresh.stats = o.stats.clone();
        }
        let module = match module {
            Ok(m) => m,
            Err(e) => {
                if let Some(mut o) = old {
                    o.stats.last_error = Some(format!("config not applied: {e}"));
                    report.push(format!("strategy `{}`: config not applied, old version keeps running: {e}", cfg.id));
                    return o;
                }
                fresh.disable(e.clone());
                report.push(format!("strategy `{}` disabled: {e}", cfg.id));
                return fresh;
            }
        };
        fresh.module = Some(module.clone());
        if !cfg.enabled {
            fresh.stop();
            report.push(format!("strategy `{}` stopped (enabled = false)", cfg.id));
            return fresh;
        }
        match fresh.start(module, None) {
            Ok(()) => {
                let verb = if old.is_some() { "reconfigured" } else { "started" };
                report.push(format!("strategy `{}` {verb}", cfg.id));
                fresh
            }
            Err(e) => match old {
                Some(mut o) if o.is_running() => {
                    o.stats.last_error = Some(format!("new config failed, old version keeps running: {e}"));
                    report.push(format!("strategy `{}`: new config failed, old version keeps running: {e}", cfg.id));
                    o
                }
                _ => {
                    fresh.fail(e.to_string());
                    report.push(format!("strategy `{}` failed to start: {e}", cfg.id));
                    fresh
                }
            },
        }
    }

    /// A module file changed: swap every instance that runs it, carrying state.
    pub fn apply_module(&mut self, path: &Path, result: Result<Arc<LoadedModule>, String>) -> Vec<String> {
        let mut report = Vec::new();
        for inst in self.instances.iter_mut().filter(|i| i.config.module == path) {
            let id = inst.id().to_string();
            let module = match &result {
                Ok(m) => m.clone(),
                Err(e) => {
                    let msg = format!("reload failed, old version keeps running: {e}");
                    if inst.module.is_none() {
                        inst.disable(e.clone());
                    } else {
                        inst.stats.last_error = Some(msg.clone());
                    }
                    report.push(format!("strategy `{id}`: {msg}"));
                    continue;
                }
            };
            if inst.module.as_ref().is_some_and(|m| m.hash == module.hash) && inst.is_running() {
                continue;
            }
            if inst.state == InstanceState::Stopped {
                inst.module = Some(module);
                continue;
            }
            let carry = inst.take_snapshot();
            match inst.start(module.clone(), Some(carry)) {
                Ok(()) => {
                    inst.stats.reloads += 1;
                    inst.stats.consecutive_failures = 0;
                    inst.stats.last_error = None;
                    report.push(format!("strategy `{id}` reloaded to {}", &module.hash[..12]));
                }
                Err(e) => {
                    let msg = format!("reload failed, old version keeps running: {e}");
                    inst.stats.last_error = Some(msg.clone());
                    report.push(format!("strategy `{id}`: {msg}"));
                }
            }
        }
        report
    }

    /// Enable or disable an instance (API); returns false for an unknown id.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Option<String> {
        let inst = self.get_mut(id)?;
        if !enabled {
            inst.take_snapshot();
            inst.stop();
            return Some(format!("strategy `{id}` stopped"));
        }
        if inst.is_running() {
            return Some(format!("strategy `{id}` already running"));
        }
        let Some(module) = inst.module.clone() else {
            return Some(format!("strategy `{id}` has no loaded module"));
        };
        inst.stats.consecutive_failures = 0;
        Some(match inst.start(module, None) {
            Ok(()) => format!("strategy `{id}` started"),
            Err(e) => {
                inst.fail(e.to_string());
                format!("strategy `{id}` failed to start: {e}")
            }
        })
    }
}
