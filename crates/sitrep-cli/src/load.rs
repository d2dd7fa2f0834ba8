//! Reading config files: the TOML itself, then the topology file it names (JSON or TOML,
//! relative to the config file), merged into the config the core receives.

use anyhow::{Context, Result};
use sitrep_core::config::TopologyConfig;
use sitrep_core::Config;
use std::path::Path;

pub fn config(path: Option<&Path>) -> Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
    let mut cfg = Config::from_toml(&text).with_context(|| format!("in {}", path.display()))?;
    if let Some(file) = cfg.topology.file.clone() {
        let tpath = path.parent().unwrap_or(Path::new(".")).join(&file);
        let ttext = std::fs::read_to_string(&tpath)
            .with_context(|| format!("reading topology {}", tpath.display()))?;
        let topo: TopologyConfig = if file.ends_with(".json") {
            serde_json::from_str(&ttext).with_context(|| format!("in topology {}", tpath.display()))?
        } else {
            toml::from_str(&ttext).with_context(|| format!("in topology {}", tpath.display()))?
        };
        cfg.topology.nodes.extend(topo.nodes);
        cfg.topology.edges.extend(topo.edges);
        if cfg.topology.entity_fields.is_empty() {
            cfg.topology.entity_fields = topo.entity_fields;
        }
    }
    Ok(cfg)
}

/// A file is run either as the embedded service (`[server]`) or as a worker on Kafka
/// (`[kafka]`), never both: a worker has no listeners, journal or webhooks, so a `[server]`
/// beside `[kafka]` would be silently ignored.
pub fn check_host_sections(cfg: &Config) -> Result<()> {
    if !cfg.kafka.is_empty() && !cfg.server.is_empty() {
        anyhow::bail!(
            "invalid config: [server] and [kafka] are both set; a worker on Kafka runs no \
             embedded server (its health and metrics address is `run --listen`): keep one"
        );
    }
    Ok(())
}
