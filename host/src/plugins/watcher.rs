//! Watches the plugin directory and plugins.toml. Changes are debounced, compiled and
//! validated on this thread (never on the core loop), then handed to the core as
//! ready-to-swap modules or a ready-to-apply configuration.

use super::Loader;
use super::registry::{ModuleResults, PluginHost};
use crate::config::PluginsConfig;
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Quiet time after the last file event before acting on a change.
const DEBOUNCE: Duration = Duration::from_millis(20);
/// Longest wait for things to settle: a file written continuously is still picked up.
const MAX_DEBOUNCE: Duration = Duration::from_millis(500);

/// What the watcher hands to the core loop.
pub enum WatchEvent {
    /// A `.wasm` file was created or replaced.
    Module(PathBuf, Result<std::sync::Arc<super::LoadedModule>, String>),
    /// plugins.toml changed: the validated config with its modules, or the error.
    Config(Box<Result<(PluginsConfig, ModuleResults), String>>),
}

/// Start watching; `send` delivers to the core (false = the core is gone, stop).
/// Returns the watcher handle, which must be kept alive.
pub fn spawn(
    loader: Loader,
    plugin_dir: PathBuf,
    config_path: PathBuf,
    env: fn(&str) -> Option<String>,
    send: impl Fn(WatchEvent) -> bool + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let config_name = config_path.file_name().map(|n| n.to_os_string());
    let watched_name = config_name.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
                | EventKind::Access(AccessKind::Close(AccessMode::Write))
        );
        // Only .wasm files and plugins.toml matter: the directory may also hold the
        // database, whose constant writes must not keep the debounce from settling.
        for p in event.paths.into_iter().filter(|_| relevant) {
            let wanted =
                p.extension().is_some_and(|e| e == "wasm") || p.file_name().map(|n| n.to_os_string()) == watched_name;
            if wanted {
                let _ = tx.send(p);
            }
        }
    })?;
    std::fs::create_dir_all(&plugin_dir).ok();
    watcher.watch(&plugin_dir, RecursiveMode::NonRecursive)?;
    let config_dir = config_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    if config_dir != plugin_dir {
        watcher.watch(&config_dir, RecursiveMode::NonRecursive)?;
    }
    std::thread::Builder::new()
        .name("plugin-watch".into())
        .spawn(move || {
            let mut last_config: Option<PluginsConfig> = None;
            while let Ok(first) = rx.recv() {
                let mut paths = BTreeSet::from([first]);
                let settle_by = std::time::Instant::now() + MAX_DEBOUNCE;
                while let Ok(p) = rx.recv_timeout(DEBOUNCE) {
                    paths.insert(p);
                    if std::time::Instant::now() > settle_by {
                        break;
                    }
                }
                for path in paths {
                    let is_config = path.file_name().map(|n| n.to_os_string()) == config_name;
                    let event = if is_config {
                        match load_config(&loader, &config_path, env, &mut last_config) {
                            Some(e) => e,
                            None => continue,
                        }
                    } else if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
                        tracing::info!(path = %path.display(), "plugin file changed; compiling aside");
                        let r = loader.load_file(&path).map_err(|e| e.to_string());
                        if let Err(e) = &r {
                            tracing::warn!(path = %path.display(), error = %e, "plugin build rejected");
                        }
                        WatchEvent::Module(path, r)
                    } else {
                        continue;
                    };
                    if !send(event) {
                        return;
                    }
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

fn load_config(
    loader: &Loader,
    path: &Path,
    env: fn(&str) -> Option<String>,
    last: &mut Option<PluginsConfig>,
) -> Option<WatchEvent> {
    tracing::info!(path = %path.display(), "plugins.toml changed; validating");
    match PluginsConfig::load(path, &env) {
        Ok(cfg) => {
            if last.as_ref() == Some(&cfg) {
                return None;
            }
            *last = Some(cfg.clone());
            let modules = PluginHost::load_modules(loader, &cfg);
            Some(WatchEvent::Config(Box::new(Ok((cfg, modules)))))
        }
        Err(e) => {
            tracing::warn!(error = %e, "plugins.toml rejected; the running configuration stays");
            Some(WatchEvent::Config(Box::new(Err(e.to_string()))))
        }
    }
}
