//! Parameter sweeps: `sma_period=5..50 ema_period=3..20` (inclusive integer ranges, an
//! optional `:step`) or `stop_loss=0.05,0.1,0.15` (lists) expand every strategy that has
//! all the swept params into one variant per combination.

use crate::config::PluginsConfig;

/// One swept parameter and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Param name.
    pub key: String,
    /// Values as text.
    pub values: Vec<String>,
}

/// The grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sweep {
    /// Axes in the order given.
    pub axes: Vec<Axis>,
}

/// Most variants a sweep may produce.
pub const MAX_VARIANTS: usize = 10_000;

impl Sweep {
    /// Parse `key=a..b[:step]` or `key=v1,v2,...` specs.
    pub fn parse(specs: &[String]) -> Result<Sweep, String> {
        let mut axes = Vec::new();
        for spec in specs {
            let (key, range) =
                spec.split_once('=').ok_or_else(|| format!("sweep `{spec}`: expected key=a..b or key=v1,v2"))?;
            let values = if let Some((a, b)) = range.split_once("..") {
                let (b, step) = b.split_once(':').unwrap_or((b, "1"));
                let parse =
                    |s: &str| s.trim().parse::<i64>().map_err(|_| format!("sweep `{spec}`: `{s}` is not an integer"));
                let (a, b, step) = (parse(a)?, parse(b)?, parse(step)?);
                if step <= 0 || b < a {
                    return Err(format!("sweep `{spec}`: need a <= b and a positive step"));
                }
                (a..=b).step_by(step as usize).map(|v| v.to_string()).collect()
            } else {
                range.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect::<Vec<_>>()
            };
            if values.is_empty() {
                return Err(format!("sweep `{spec}`: no values"));
            }
            axes.push(Axis { key: key.trim().to_string(), values });
        }
        let total: usize = axes.iter().map(|a| a.values.len()).product();
        if !axes.is_empty() && total > MAX_VARIANTS {
            return Err(format!("sweep has {total} combinations; at most {MAX_VARIANTS}"));
        }
        Ok(Sweep { axes })
    }

    /// Every combination, each as (key, value) pairs.
    pub fn combinations(&self) -> Vec<Vec<(String, String)>> {
        let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for axis in &self.axes {
            out = out
                .into_iter()
                .flat_map(|c| {
                    axis.values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((axis.key.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        out
    }

    /// The configuration with each sweepable strategy replaced by its grid.
    pub fn expand(&self, config: &PluginsConfig) -> Result<PluginsConfig, String> {
        if self.axes.is_empty() {
            return Ok(config.clone());
        }
        let mut out = PluginsConfig { plugin_dir: config.plugin_dir.clone(), strategies: Vec::new() };
        for s in &config.strategies {
            let sweepable = self.axes.iter().all(|a| s.params.iter().any(|(k, _)| *k == a.key));
            if !sweepable {
                continue;
            }
            for combo in self.combinations() {
                let mut v = s.clone();
                let label: Vec<String> = combo.iter().map(|(k, val)| format!("{k}={val}")).collect();
                v.id = format!("{}[{}]", s.id, label.join(","));
                for (k, val) in combo {
                    v.params.retain(|(key, _)| *key != k);
                    v.params.push((k, val));
                }
                out.strategies.push(v);
            }
        }
        if out.strategies.is_empty() {
            let keys: Vec<&str> = self.axes.iter().map(|a| a.key.as_str()).collect();
            return Err(format!("no strategy in the configuration has all the swept params {keys:?}"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_steps_and_lists() {
        let s = Sweep::parse(&["sma_period=5..9:2".into(), "stop_loss=0.1,0.15".into()]).unwrap();
        assert_eq!(s.axes[0].values, ["5", "7", "9"]);
        assert_eq!(s.axes[1].values, ["0.1", "0.15"]);
        assert_eq!(s.combinations().len(), 6);
        for bad in ["x", "a=5..1", "a=1..x", "a=", "a=1..3:0"] {
            assert!(Sweep::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
        assert!(Sweep::parse(&["a=1..200".into(), "b=1..200".into()]).unwrap_err().contains("40000 combinations"));
    }

    #[test]
    fn expands_only_strategies_with_every_swept_param() {
        let toml = "version = 1\n[[strategy]]\nid = \"x\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\nparams = { a = 1, b = 2 }\n\
                    [[strategy]]\nid = \"y\"\nmodule = \"m.wasm\"\nsymbols = [\"BTCUSDT\"]\nparams = { a = 1 }\n";
        let cfg = PluginsConfig::parse(toml, std::path::Path::new("/p.toml"), &|_| None).unwrap();
        let sweep = Sweep::parse(&["a=1..2".into(), "b=7,8".into()]).unwrap();
        let out = sweep.expand(&cfg).unwrap();
        let ids: Vec<&str> = out.strategies.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["x[a=1,b=7]", "x[a=1,b=8]", "x[a=2,b=7]", "x[a=2,b=8]"]);
        assert!(out.strategies[3].params.contains(&("b".to_string(), "8".to_string())));
        assert!(Sweep::parse(&["zz=1..2".into()]).unwrap().expand(&cfg).is_err());
    }
}
