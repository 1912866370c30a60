//! Helpers for black-box tests: start the real `tradehost` binary on port 0 in a
//! scratch directory, talk to it over HTTP and WebSocket, and stop or kill it.

pub mod fake;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `shared/data` beside the checkout (fails clearly when absent).
pub fn shared_data() -> PathBuf {
    let p = root().join("../shared/data");
    assert!(p.is_dir(), "{} is missing: tests read real market data from ../shared/data", p.display());
    p
}

/// A strategy or fixture component built by `make wasm`.
pub fn wasm(name: &str) -> PathBuf {
    let p = if name == "hostile-v2" {
        root().join("target/fixture-v2/wasm32-unknown-unknown/wasm/hostile.wasm")
    } else {
        root().join("target/wasm32-unknown-unknown/wasm").join(format!("{name}.wasm"))
    };
    assert!(p.is_file(), "{} is missing: run `make test` (it builds the components first)", p.display());
    p
}

/// The host binary built by `make test` (`cargo build -p tradehost`).
pub fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let p = target.join("debug/tradehost");
    assert!(p.is_file(), "{} is missing: run `make test` (it builds the binary first)", p.display());
    p
}

/// A running host in its own scratch directory.
pub struct Host {
    child: Option<Child>,
    /// REST base URL, e.g. `http://127.0.0.1:41234`.
    pub rest: String,
    /// WebSocket URL of the separate port.
    pub ws: String,
    /// The scratch directory (plugins.toml, plugins/, the database).
    pub dir: PathBuf,
    /// Captured stderr (the log), for failure messages.
    pub log: PathBuf,
    client: reqwest::Client,
}

/// How to start a host.
pub struct Setup<'a> {
    /// plugins.toml text (plugin_dir defaults to `plugins/` beside it).
    pub plugins_toml: &'a str,
    /// Files to put in `plugins/`: (file name, source path).
    pub modules: Vec<(&'a str, PathBuf)>,
    /// Extra command-line arguments (e.g. `replay FILE`, `--speed`).
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(&'a str, String)>,
}

impl Host {
    /// Prepare `dir` and start the binary in it.
    pub fn start(dir: &Path, setup: Setup) -> Result<Host> {
        std::fs::create_dir_all(dir.join("plugins"))?;
        std::fs::write(dir.join("plugins.toml"), setup.plugins_toml)?;
        for (name, src) in &setup.modules {
            std::fs::copy(src, dir.join("plugins").join(name)).with_context(|| format!("copying {}", src.display()))?;
        }
        Host::restart(dir, &setup.args, &setup.env)
    }

    /// Start the binary in an existing directory (after a stop or a kill).
    pub fn restart(dir: &Path, args: &[String], env: &[(&str, String)]) -> Result<Host> {
        let log = dir.join(format!("host-{}.log", Instant::now().elapsed().as_nanos() ^ rand_suffix()));
        let mut cmd = Command::new(binary());
        cmd.current_dir(dir)
            .args(args)
            .args(["--port", "0", "--ws-port", "0", "--db", "state.db", "--config", "plugins.toml"])
            .env_remove("TRADEHOST_API_KEY")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("starting tradehost")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(120)).map_err(|_| {
            anyhow::anyhow!(
                "host did not report its ports; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })?;
        let field = |name: &str| {
            line.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_string).context("bad listening line")
        };
        Ok(Host {
            rest: field("rest=")?,
            ws: field("ws=")?,
            child: Some(child),
            dir: dir.to_path_buf(),
            log,
            client: reqwest::Client::new(),
        })
    }

    /// GET a path; returns (status, JSON body).
    pub async fn get(&self, path: &str) -> Result<(u16, Value)> {
        let r = self.client.get(format!("{}{path}", self.rest)).send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// GET a path that must answer 200 with JSON.
    pub async fn json(&self, path: &str) -> Result<Value> {
        let (status, body) = self.get(path).await?;
        if status != 200 {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }

    /// Send a request with an optional API key and body; returns (status, JSON body).
    pub async fn send(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.client.request(method, format!("{}{path}", self.rest));
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// Poll `path` until `done` holds for its JSON, or fail after `secs` with the last body.
    pub async fn wait_for(&self, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let body = self.json(path).await?;
            if done(&body) {
                return Ok(body);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting on {path}; last: {body}\nlog tail:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the host's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(mut self) -> Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("already stopped")?;
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > deadline {
                child.kill()?;
                bail!("host did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the crash path.
    pub fn kill(mut self) -> Result<()> {
        let mut child = self.child.take().context("already stopped")?;
        child.kill()?;
        child.wait()?;
        Ok(())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// The two recorded Binance sessions of one symbol, in order.
pub fn recording(symbol: &str) -> Vec<PathBuf> {
    let dir = shared_data().join("binance-spot-ws");
    ["20240808", "20240809"].iter().map(|d| dir.join(format!("spot_{symbol}_{d}.gz"))).collect()
}

/// A plugins.toml running the SMA/EMA strategy as variants A (15 %) and B (10 %).
pub fn sma_ema_config(sma: u32, ema: u32) -> String {
    let variant = |id: &str, sl: &str| {
        format!(
            "[[strategy]]\nid = \"{id}\"\nmodule = \"sma_ema.wasm\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n\
             [strategy.params]\nsma_period = {sma}\nema_period = {ema}\nstop_loss = \"{sl}\"\n\
             qty = {{ BTCUSDT = \"0.001\", ETHUSDT = \"0.01\" }}\n"
        )
    };
    format!("version = 1\n{}{}", variant("sma-ema-a", "0.15"), variant("sma-ema-b", "0.10"))
}
