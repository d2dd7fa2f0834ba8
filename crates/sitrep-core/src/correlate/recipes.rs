//! correlate::recipes: the recipe set (configured or default), compiled; which alerts a
//! recipe takes and the key it indexes them by.

use super::*;

pub(crate) struct Recipe {
    pub name: String,
    pub kind: RecipeKind,
    pub equal: Vec<String>,
    pub similar: Vec<SimilarityConfig>,
    pub hop_limit: u32,
    pub siblings: bool,
    pub window: Millis,
    pub max_window: Millis,
    pub min_alerts: usize,
    pub single_critical: bool,
    pub matcher: CompiledMatcher,
}

/// The recipe set used when the config names none: with a topology, `topology`,
/// `same-service`, then `learned` (for what the topology does not know); without one,
/// `learned` then `same-service`. All of them leave out
/// informational alerts (severity below `warning`): routine events are kept and counted as
/// alerts, but they are not evidence of a failure.
pub fn default_recipes(has_topology: bool) -> Vec<RecipeConfig> {
    let mut v = Vec::new();
    let base = |name: &str, kind| RecipeConfig {
        name: name.to_string(),
        kind,
        equal: Vec::new(),
        similar: Vec::new(),
        hop_limit: 2,
        siblings: false,
        window_secs: 300,
        max_window_secs: 3600,
        min_alerts: None,
        single_critical: false,
        matcher: crate::config::Matcher {
            min_severity: Some(Severity::Warning),
            ..Default::default()
        },
    };
    if has_topology {
        v.push(RecipeConfig {
            hop_limit: 3,
            window_secs: 60,
            max_window_secs: 1800,
            ..base("topology", RecipeKind::Topology)
        });
    }
    let same_service = RecipeConfig {
        equal: vec!["service".into()],
        window_secs: 60,
        ..base("same-service", RecipeKind::Attribute)
    };
    let learned = RecipeConfig {
        window_secs: 60,
        max_window_secs: 1800,
        ..base("learned", RecipeKind::Learned)
    };
    // Without a topology the learned recipe goes first: it learns `service` as evidence
    // (alerts of one service start together far more often than chance), and a cluster
    // one recipe made is no candidate for another, so a same-service incident ahead of it
    // would keep a failing service apart from its callers. Same-service stays behind it for
    // a young stream, before anything is learned (not for one host's alerts, which a held
    // learned cluster keeps: `membership::one_young_host`). With a topology the learned recipe only
    // takes what the topology does not know. Measured in docs/evaluation.md.
    if has_topology {
        v.push(same_service);
        v.push(learned);
    } else {
        v.push(learned);
        v.push(same_service);
    }
    v
}

pub(crate) fn compile_recipes(cfg: &Config, topo: &Topology) -> Result<Vec<Recipe>, ConfigError> {
    let invalid = ConfigError::Invalid;
    let list = if cfg.correlation.recipes.is_empty() {
        default_recipes(!topo.is_empty())
    } else {
        cfg.correlation.recipes.clone()
    };
    let mut out = Vec::new();
    for r in list {
        if r.kind == RecipeKind::Topology && topo.is_empty() {
            return Err(invalid(format!(
                "recipe `{}` is a topology recipe but no topology is configured",
                r.name
            )));
        }
        out.push(Recipe {
            matcher: CompiledMatcher::compile(&r.matcher)
                .map_err(|e| invalid(format!("recipe `{}`: {e}", r.name)))?,
            name: r.name,
            kind: r.kind,
            equal: r.equal,
            similar: r.similar,
            hop_limit: r.hop_limit,
            siblings: r.siblings,
            window: r.window_secs as i64 * 1000,
            max_window: r.max_window_secs.max(r.window_secs) as i64 * 1000,
            min_alerts: r.min_alerts.unwrap_or(cfg.correlation.min_alerts).max(1),
            single_critical: r.single_critical,
        });
    }
    if out.len() > u16::MAX as usize {
        return Err(invalid("too many recipes".into()));
    }
    Ok(out)
}

impl Correlator {
    pub(super) fn recipe_accepts(&self, env: &Env, r: &Recipe, a: &Alert) -> bool {
        if r.kind == RecipeKind::Topology && a.entity.is_none() {
            return false;
        }
        // learned evidence fills in where the configured topology is silent
        if r.kind == RecipeKind::Learned && a.entity.is_some() && !env.c.topology.is_empty() {
            return false;
        }
        if !r.equal.iter().all(|f| env.store.field(a, f).is_some()) {
            return false;
        }
        r.matcher.is_empty() || r.matcher.matches_with(a.severity, |f| env.store.field(a, f))
    }

    pub(super) fn key_of(&self, env: &Env, r: &Recipe, a: &Alert) -> u64 {
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        for f in &r.equal {
            h.write(env.store.field(a, f).unwrap_or("").as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }
}
