//! correlate::membership: seeding pending clusters, joining, the root cause, promotion to
//! an incident, absorption of pending clusters downstream of the root cause, dissolving.

use super::*;

impl Correlator {
    /// Whether an alert may start an incident and be its root cause: its words carry
    /// information (noise score ≥ `noise.threshold`), or its check is shown to belong with
    /// the alerts around it (`LearnedStats::class_belongs`).
    pub(super) fn informative(&self, env: &Env, a: &Alert) -> bool {
        let n = &env.c.cfg.noise;
        a.entropy as f64 >= n.threshold || self.check_belongs(env, a)
    }

    /// The alert's check class for what the learned statistics say of checks: `None` when
    /// they are not learned (no learned recipe, or `cooccurrence` off).
    fn learned_check_class(&self, env: &Env, a: &Alert) -> Option<u64> {
        let learned = env.c.cfg.correlation.learned.cooccurrence
            && env.c.recipes.iter().any(|r| r.kind == RecipeKind::Learned);
        learned.then(|| learned::hash_value(env.store.interner.resolve(a.check)) | 1)
    }

    /// The learned evidence that an alert's check is a failure's, whatever its noise score.
    pub(super) fn check_belongs(&self, env: &Env, a: &Alert) -> bool {
        let lcfg = &env.c.cfg.correlation.learned;
        self.learned_check_class(env, a).is_some_and(|class| {
            self.learned
                .class_belongs(lcfg, class, 0..self.learned.keys.len() as u16, |key| {
                    self.group_label(key)
                })
        })
    }

    /// Whether an alert that is not [`Self::informative`] may still start an incident: its
    /// check's record so far says it belongs with the alerts around it, though too young
    /// to be sure (`LearnedStats::class_belongs_provisionally`: the key and its counts), and
    /// it is not refuted. In a quiet estate every alert of a service's failure
    /// (`availability_drop`, `error_rate_high` on it and its callers) can score as noise;
    /// without this, such a failure started nothing until its checks had `min_pairs` pairs
    /// and significance.
    pub(super) fn provisional_belonging(&self, env: &Env, a: &Alert) -> Option<(u16, learned::Band)> {
        let lcfg = &env.c.cfg.correlation.learned;
        let class = self.learned_check_class(env, a)?;
        let keys = || 0..self.learned.keys.len() as u16;
        let group = |key| self.group_label(key);
        let found = self
            .learned
            .class_belongs_provisionally(lcfg, class, keys(), group)?;
        (!self.learned.class_refuted(lcfg, class, keys(), group)).then_some(found)
    }

    /// The words for a seed that [`Self::provisional_belonging`] let in.
    fn provisional_words(&self, env: &Env, a: &Alert, (key, b): (u16, learned::Band)) -> String {
        format!(
            "its words are too common to start an incident, but `{}` has shared its {} with \
             the alerts starting close to it in {:.0} of {:.0} close pairs so far ({:.1} by \
             chance): too early to be sure, so it is taken as a failure's check until known",
            env.store.interner.resolve(a.check),
            self.learned.key_name(key),
            b.shared,
            b.pairs,
            b.expected
        )
    }

    pub(super) fn seed(&mut self, env: &mut Env, slot: u32, t: Millis, lt: &AlertTokens) {
        let provisional = if self.informative(env, env.store.alert(slot)) {
            None
        } else {
            let a = env.store.alert(slot);
            match self.provisional_belonging(env, a) {
                Some(found) => Some(self.provisional_words(env, a, found)),
                None => return,
            }
        };
        for ri in 0..env.c.recipes.len() {
            let a = env.store.alert(slot);
            let r = &env.c.recipes[ri];
            if !self.recipe_accepts(env, r, a) {
                continue;
            }
            let anchor_tokens = if r.kind == RecipeKind::Learned {
                if lt.ids.is_empty() {
                    continue;
                }
                lt.ids.clone()
            } else {
                Vec::new()
            };
            let anchor_values: Vec<Option<Box<str>>> = r
                .equal
                .iter()
                .chain(r.similar.iter().map(|s| &s.field))
                .map(|f| env.store.field(a, f).map(Into::into))
                .collect();
            let anchor_sets = self.similarity_sets(env, r, a);
            let mut why = Explanation::new(r.name.clone(), "seed");
            why.evidence.extend(provisional.clone());
            let member = self.member_for(env, slot, t, why);
            let promote_now = r.min_alerts <= 1 || (r.single_critical && a.severity == Severity::Critical);
            let cluster = Cluster {
                recipe: ri as u16,
                incident: None,
                state: ClusterState::Pending,
                anchor: a.id,
                anchor_values,
                anchor_sets,
                anchor_entity: a.entity,
                anchor_tokens,
                member_entities: Vec::new(),
                anchor_class: if r.kind == RecipeKind::Learned {
                    lt.class
                } else {
                    0
                },
                anchor_novel: r.kind == RecipeKind::Learned && lt.novel,
                anchor_mentions: if r.kind == RecipeKind::Learned {
                    let mut m: Vec<learned::Token> = lt
                        .mentions
                        .iter()
                        .map(|m| m.token)
                        .chain(lt.names.iter().copied())
                        .collect();
                    m.sort_unstable();
                    m.dedup();
                    m
                } else {
                    Vec::new()
                },
                lead: None,
                merged: Vec::new(),
                frontier: None,
                key: self.key_of(env, r, a),
                root: 0,
                root_reason: "earliest alert".into(),
                first_time: t,
                last_time: t,
                window_end: t + r.window,
                firing: Vec::new(),
                novel_starts: if r.kind == RecipeKind::Learned && lt.novel {
                    vec![NovelStart {
                        source: env.store.interner.resolve(a.source).into(),
                        alert: a.id,
                        at: t,
                    }]
                } else {
                    Vec::new()
                },
                severity: a.severity,
                max_severity: a.severity,
                resolved_at: None,
                reopen_count: 0,
                timeline: Vec::new(),
                indexed: false,
                indexed_entities: Vec::new(),
                assignee: None,
                recurrence: None,
                withdrawn: None,
                alert_count: 1,
                sources: vec![member.source.clone()],
                members: vec![member],
            };
            let cid = self.next_cluster;
            self.next_cluster += 1;
            let end = cluster.window_end;
            self.clusters.insert(cid, cluster);
            self.index_cluster(env, cid);
            env.schedule(end, Timer::ClusterWindow(cid));
            env.store.alert_mut(slot).pending.push(cid);
            if promote_now {
                self.promote(env, cid, t);
                return;
            }
        }
    }

    pub(crate) fn member_for(&self, env: &Env, slot: u32, t: Millis, why: Explanation) -> Member {
        let a = env.store.alert(slot);
        let i = &env.store.interner;
        Member {
            slot,
            alert: a.id,
            occurrence: a.occurrence,
            joined: t,
            signature: a.signature.clone(),
            source: i.resolve(a.source).into(),
            check: i.resolve(a.check).into(),
            entity: a.entity,
            why,
        }
    }

    pub(super) fn join(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, why: Explanation) {
        let member = self.member_for(env, slot, t, why);
        let entity = member.entity;
        // Low-information members may join but neither extend the window (or chatty noise
        // would keep an incident open forever) nor become its root cause.
        let informative = self.informative(env, env.store.alert(slot));
        let new_severity = env.store.alert(slot).severity;
        let (root_informative, root_severity, root_names_it) = {
            let c = &self.clusters[&cid];
            let m = &c.members[c.root];
            let live = env.store.live_alert(m.slot, m.alert);
            // the learned topology: the root cause's descriptions name this source (they
            // report on it: "calls to cart failing", "BGP neighbor cr2.fra Down") and not the
            // other way round — this alert is what the root cause's alerts are about
            let (root_hash, new_hash) = (
                learned::hash_value(&m.source),
                learned::hash_value(&member.source),
            );
            let edges = &self.learned.edges;
            (
                live.is_none_or(|a| self.informative(env, a)),
                // a root that has cleared (or is gone) weighs nothing against a raised alert
                live.filter(|a| a.open).map_or(Severity::Clear, |a| a.severity),
                if root_hash == new_hash
                    || edges.named_in_text(new_hash, root_hash)
                    || names_in_words(&env.store.alert(slot).description, &m.source)
                {
                    None
                } else if edges.named_in_text(root_hash, new_hash) {
                    Some("named by the previous root cause's alerts (learned topology)")
                } else if live.is_some_and(|a| names_in_words(&a.description, &member.source)) {
                    Some("named in the previous root cause's description")
                } else {
                    None
                },
            )
        };
        let c = self.clusters.get_mut(&cid).expect("candidate cluster");
        let r = &env.c.recipes[c.recipe as usize];
        c.add_member(member);
        c.last_time = c.last_time.max(t);
        let end = if informative {
            c.window_end.max(t + r.window).min(c.first_time + r.max_window)
        } else {
            c.window_end
        };
        let extended = end > c.window_end;
        c.window_end = end;
        let mut root_changed = false;
        let limit = (r.hop_limit * 2).max(4);
        let topo = &env.c.topology;
        let (upstream, related) = match (entity, c.members[c.root].entity) {
            (Some(e), Some(root_e)) if e != root_e => {
                let up = topo.downstream_distance(e, root_e, limit).is_some();
                (up, up || topo.downstream_distance(root_e, e, limit).is_some())
            }
            (Some(_), Some(_)) => (false, true),
            _ => (false, false),
        };
        // Without a topology relation between them, a raised informative alert is a better
        // root cause than one that has already cleared; under learned evidence (no configured
        // relation at all) also than an earlier, less severe one. Configured attribute
        // recipes keep the earliest: their author chose what makes alerts alike.
        let learned_recipe = r.kind == RecipeKind::Learned;
        let more_severe = !related
            && informative
            && new_severity > root_severity
            && (learned_recipe || root_severity == Severity::Clear);
        // under learned evidence, what the root cause's alerts name is further upstream
        let named_upstream = learned_recipe && !related && informative && root_names_it.is_some();
        if (upstream && (informative || !root_informative))
            || (informative && !root_informative)
            || named_upstream
            || more_severe
        {
            c.root = c.members.len() - 1;
            c.root_reason = if upstream {
                "furthest upstream in the topology"
            } else if let Some(reason) = root_names_it.filter(|_| named_upstream) {
                reason
            } else if !root_informative {
                "earliest informative alert"
            } else {
                "most severe alert raised"
            }
            .into();
            root_changed = true;
        }
        let is_topology = r.kind == RecipeKind::Topology;
        let pending = c.state == ClusterState::Pending;
        let min_alerts = r.min_alerts;
        let size = c.members.len();
        if extended {
            env.schedule(end, Timer::ClusterWindow(cid));
        }
        if root_changed && is_topology {
            self.unindex_cluster(env, cid);
            self.index_cluster(env, cid);
        }
        if pending {
            env.store.alert_mut(slot).pending.push(cid);
            if size >= min_alerts && self.cluster_informative(env, cid) && !self.one_young_host(env, cid) {
                self.promote(env, cid, t);
            }
            return;
        }
        let n = self.clusters[&cid].incident.expect("open incident has a number");
        let a = env.store.alert_mut(slot);
        a.set_incident(Some(cid));
        a.incidents.push(n);
        let alert_id = env.alert_id(env.store.alert(slot).id);
        if root_changed {
            self.timeline(
                cid,
                t,
                format!("root cause now {alert_id} (furthest upstream)"),
                Some(alert_id),
            );
        }
        self.timeline(cid, t, "alert added".into(), Some(alert_id));
        self.refresh_severity(env, cid);
        let added = vec![self.member_view(env, &self.clusters[&cid].members[size - 1])];
        self.emit_incident(env, cid, IncidentChange::AlertAdded, t, added);
        env.emit_alert(&self.clusters, slot, AlertChange::Correlated, t);
        if root_changed && is_topology {
            self.absorb_downstream(env, cid, t);
        }
    }

    /// Moves the members of pending clusters seeded downstream of the incident's root cause
    /// (within the hop limit) into the incident. See the module docs.
    pub(super) fn absorb_downstream(&mut self, env: &mut Env, cid: u64, t: Millis) {
        let c = &self.clusters[&cid];
        let ri = c.recipe;
        let r = &env.c.recipes[ri as usize];
        if r.kind != RecipeKind::Topology {
            return;
        }
        let root = &c.members[c.root];
        let (Some(root_e), root_alert) = (root.entity, root.alert) else {
            return;
        };
        let n = c.incident.expect("absorbing incident is open");
        let mut victims: Vec<(u64, u32)> = Vec::new();
        for (node, hops) in env.c.topology.downstream(root_e, r.hop_limit) {
            for &pid in self.index.topo.get(&(ri, node)).into_iter().flatten() {
                let p = &self.clusters[&pid];
                if pid != cid
                    && p.state == ClusterState::Pending
                    && p.anchor_entity == Some(node)
                    && self.accepting(env, p, t)
                {
                    victims.push((pid, hops));
                }
            }
        }
        if victims.is_empty() {
            return;
        }
        let recipe = r.name.clone();
        let root_id = env.alert_id(root_alert);
        let mut absorbed: Vec<(u32, u64, u32)> = Vec::new();
        for (pid, hops) in victims {
            let Some(p) = self.clusters.get(&pid) else {
                continue;
            };
            let members: Vec<(u32, u64)> = p.members.iter().map(|m| (m.slot, m.alert)).collect();
            for (slot, id) in members {
                if env
                    .store
                    .live_alert(slot, id)
                    .is_some_and(|a| a.incident().is_none() && a.open)
                    && !absorbed.iter().any(|x| x.0 == slot)
                {
                    absorbed.push((slot, id, hops));
                }
            }
            self.dissolve(env, pid);
        }
        let mut added = Vec::new();
        for &(slot, _, hops) in &absorbed {
            let gap = (t - self.clusters[&cid].last_time).max(0);
            let member = self.member_for(
                env,
                slot,
                t,
                Explanation {
                    compared_with: Some(root_id.to_string()),
                    gap_ms: gap,
                    hops: Some(hops),
                    direction: Some("downstream".into()),
                    ..Explanation::new(recipe.clone(), "absorbed")
                },
            );
            added.push(self.member_view(env, &member));
            self.clusters.get_mut(&cid).expect("cluster").add_member(member);
            let a = env.store.alert_mut(slot);
            a.set_incident(Some(cid));
            a.incidents.push(n);
            for p in std::mem::take(&mut a.pending) {
                self.dissolve(env, p);
            }
        }
        if added.is_empty() {
            return;
        }
        self.timeline(
            cid,
            t,
            format!("absorbed {} alert(s) downstream of the root cause", added.len()),
            None,
        );
        self.refresh_severity(env, cid);
        self.emit_incident(env, cid, IncidentChange::AlertAdded, t, added);
        for (slot, _, _) in absorbed {
            env.emit_alert(&self.clusters, slot, AlertChange::Correlated, t);
        }
    }

    /// A learned cluster of one host's new alerts while new alerts start on a host this
    /// often anyway (or the stream is too young to say how often): it stays pending until
    /// an alert of another source joins it (or, the stream settled, its next member does;
    /// else it lapses at its window's end, its alerts left as alerts). A recipe that opens
    /// on one alert (`min_alerts` 1, `single_critical`) is configured to, and is not held. At the start of a stream every host shows its
    /// routine — scheduled jobs whose checks start together — and all of it is new; a
    /// failure's first alerts on one device are soon joined by its neighbours'.
    pub(super) fn one_young_host(&self, env: &Env, cid: u64) -> bool {
        let c = &self.clusters[&cid];
        // a major or critical alert is the source's own word that something failed: a
        // scheduled job reports at warning or below
        if env.c.recipes[c.recipe as usize].kind != RecipeKind::Learned
            || !c.anchor_novel
            || c.sources.len() != 1
            || c.max_severity >= Severity::Major
        {
            return false;
        }
        let lcfg = &env.c.cfg.correlation.learned;
        self.learned
            .costarts
            .novel_per_source(lcfg)
            .is_none_or(|expected| expected * lcfg.min_lift > 1.0)
    }

    /// Whether a cluster has a member that may start an incident ([`Self::informative`], or
    /// a young check's record: [`Self::provisional_belonging`]).
    pub(super) fn cluster_informative(&self, env: &Env, cid: u64) -> bool {
        self.clusters[&cid].members.iter().any(|m| {
            env.store
                .live_alert(m.slot, m.alert)
                .is_some_and(|a| self.informative(env, a) || self.provisional_belonging(env, a).is_some())
        })
    }

    pub(super) fn promote(&mut self, env: &mut Env, cid: u64, t: Millis) {
        let n = self.next_incident;
        self.next_incident += 1;
        env.stats.incidents_opened += 1;
        let c = self.clusters.get_mut(&cid).expect("promoted cluster");
        c.incident = Some(n);
        c.state = ClusterState::Open;
        let members: Vec<(u32, u64)> = c.members.iter().map(|m| (m.slot, m.alert)).collect();
        let recipe = env.c.recipes[c.recipe as usize].name.clone();
        for &(slot, id) in &members {
            if env.store.live_alert(slot, id).is_none() {
                continue;
            }
            let a = env.store.alert_mut(slot);
            a.set_incident(Some(cid));
            a.incidents.push(n);
            let others: Vec<u64> = std::mem::take(&mut a.pending)
                .into_iter()
                .filter(|p| *p != cid)
                .collect();
            for p in others {
                self.dissolve(env, p);
            }
        }
        self.timeline(cid, t, format!("opened by recipe `{recipe}`"), None);
        self.refresh_severity(env, cid);
        let added: Vec<MemberView> = self.clusters[&cid]
            .members
            .iter()
            .map(|m| self.member_view(env, m))
            .collect();
        self.emit_incident(env, cid, IncidentChange::Opened, t, added);
        for (slot, id) in members {
            if env.store.live_alert(slot, id).is_some() {
                env.emit_alert(&self.clusters, slot, AlertChange::Correlated, t);
            }
        }
        self.absorb_downstream(env, cid, t);
    }

    /// Drops a pending cluster; its members stay in their other clusters.
    pub(super) fn dissolve(&mut self, env: &mut Env, cid: u64) {
        self.unindex_cluster(env, cid);
        let Some(c) = self.clusters.remove(&cid) else {
            return;
        };
        for m in c.members {
            if let Some(Some(a)) = env.store.alerts.get_mut(m.slot as usize) {
                if a.id == m.alert {
                    a.pending.retain(|p| *p != cid);
                    if a.pending.is_empty() {
                        // most alerts end here for good: free the list
                        a.pending = Default::default();
                    }
                }
            }
        }
    }

    /// Merges cluster `from` into `to` (same recipe; `to` open if `from` is), each moved
    /// member explained by `reason` and the incidents' timelines by `what` ("one failure
    /// across places"); false if nothing could move. A pending `from` is
    /// dissolved and its members join `to` one by one (as absorbed pending clusters do); an
    /// open `from` keeps its members as history and closes as merged, as an operator's merge
    /// leaves it, but teaches the learned recipe nothing (it is not an operator's lesson).
    pub(super) fn merge_cluster(
        &mut self,
        env: &mut Env,
        to: u64,
        from: u64,
        t: Millis,
        reason: String,
        what: &str,
    ) -> bool {
        let (Some(target), Some(source)) = (self.clusters.get(&to), self.clusters.get(&from)) else {
            return false;
        };
        if to == from || !self.accepting(env, target, t) {
            return false;
        }
        let why = Explanation {
            compared_with: Some(env.alert_id(target.anchor).to_string()),
            gap_ms: (t - target.last_time).max(0),
            evidence: vec![reason],
            ..Explanation::new(env.c.recipes[target.recipe as usize].name.clone(), "merged")
        };
        let members: Vec<(u32, u64)> = source.members.iter().map(|m| (m.slot, m.alert)).collect();
        let taken = Taken {
            window_end: source.window_end,
            entities: source.member_entities.clone(),
            anchors: std::iter::once(Lead {
                alert: source.anchor,
                check: source
                    .members
                    .first()
                    .map_or_else(Default::default, |m| m.check.clone()),
                tokens: source.anchor_tokens.clone(),
                class: source.anchor_class,
                start: source.first_time,
                place: None,
            })
            .chain(source.merged.iter().cloned())
            .collect(),
        };
        if source.state == ClusterState::Pending {
            let movable: Vec<(u32, u64)> = members
                .into_iter()
                .filter(|&(slot, id)| {
                    let live = env
                        .store
                        .live_alert(slot, id)
                        .is_some_and(|a| a.open && a.incident().is_none());
                    live && !target.members.iter().any(|m| m.alert == id)
                })
                .collect();
            if movable.is_empty() {
                return false;
            }
            self.dissolve(env, from);
            let mut moved = false;
            for (slot, id) in movable {
                if !self.accepting(env, &self.clusters[&to], t) {
                    break;
                }
                // a member joined meanwhile (a pending cluster it seeded was promoted)
                if env
                    .store
                    .live_alert(slot, id)
                    .is_none_or(|a| a.incident().is_some())
                {
                    continue;
                }
                let pending = std::mem::take(&mut env.store.alert_mut(slot).pending);
                for p in pending {
                    if p == to {
                        env.store.alert_mut(slot).pending.push(p);
                    } else {
                        self.dissolve(env, p);
                    }
                }
                self.join(env, to, slot, t, why.clone());
                moved = true;
            }
            self.take_merged(env, to, taken);
            return moved;
        }
        if target.state == ClusterState::Pending {
            return false;
        }
        // the incident-size bound holds for the merged incident as for a join
        let current = members
            .iter()
            .filter(|&&(slot, id)| {
                env.store
                    .live_alert(slot, id)
                    .is_some_and(|a| a.incident() == Some(from))
            })
            .count();
        if target.members.len() + current > env.c.cfg.correlation.max_incident_alerts {
            return false;
        }
        let n_to = target.incident.expect("an open cluster is numbered");
        let mut added = Vec::new();
        for (slot, id) in members {
            if env
                .store
                .live_alert(slot, id)
                .is_none_or(|a| a.incident() != Some(from))
            {
                continue;
            }
            let member = self.member_for(env, slot, t, why.clone());
            added.push(self.member_view(env, &member));
            self.move_member(env, to, n_to, slot, member, t);
            env.emit_alert(&self.clusters, slot, AlertChange::Correlated, t);
        }
        if added.is_empty() {
            return false;
        }
        let from_id = env.incident_id(self.clusters[&from].incident.expect("numbered"));
        let to_id = env.incident_id(n_to);
        self.take_merged(env, to, taken);
        self.refresh_severity(env, from);
        self.refresh_severity(env, to);
        self.timeline(
            to,
            t,
            format!("merged {from_id} into this incident ({what})"),
            None,
        );
        self.close_now(env, from, t, format!("merged into {to_id} ({what})"), "sitrep");
        self.emit_incident(env, to, IncidentChange::Merged, t, added);
        true
    }

    /// Puts the current occurrence of the alert in `slot` into the open cluster `to`
    /// (incident number `n_to`) as `member`: a merge, split or move by an operator, or a
    /// merge on a place burst.
    pub(crate) fn move_member(
        &mut self,
        env: &mut Env,
        to: u64,
        n_to: u64,
        slot: u32,
        member: Member,
        t: Millis,
    ) {
        let c = self.clusters.get_mut(&to).expect("target");
        c.add_member(member);
        c.last_time = c.last_time.max(t);
        let a = env.store.alert_mut(slot);
        a.set_incident(Some(to));
        if a.incidents.last() != Some(&n_to) {
            a.incidents.push(n_to);
        }
    }

    /// After a merge: the surviving cluster keeps taking alerts as long as the merged one
    /// would have (within its own maximum window), and is found by and compared with what
    /// the merged one was (its anchor and member entities).
    fn take_merged(&mut self, env: &mut Env, cid: u64, taken: Taken) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let max_window = env.c.recipes[c.recipe as usize].max_window;
        let end = taken.window_end.min(c.first_time + max_window);
        if end > c.window_end {
            self.clusters.get_mut(&cid).expect("cluster").window_end = end;
            env.schedule(end, Timer::ClusterWindow(cid));
        }
        let indexed = self.clusters[&cid].indexed;
        if indexed {
            self.unindex_cluster(env, cid);
        }
        let c = self.clusters.get_mut(&cid).expect("cluster");
        for x in taken.entities {
            if c.member_entities.len() >= MAX_MEMBER_ENTITIES {
                break;
            }
            if let Err(i) = c.member_entities.binary_search(&x) {
                c.member_entities.insert(i, x);
            }
        }
        for anchor in taken.anchors {
            if c.merged.len() < MAX_MERGED_ANCHORS && anchor.alert != c.anchor {
                c.merged.push(anchor);
            }
        }
        if indexed {
            self.index_cluster(env, cid);
        }
    }

    /// A pending cluster loses a member (cleared): it cannot be trusted any more.
    pub(crate) fn leave_pending(&mut self, env: &mut Env, cid: u64) {
        self.dissolve(env, cid);
    }
}

/// What a cluster merged into another hands on to it.
struct Taken {
    window_end: Millis,
    entities: Vec<learned::Token>,
    anchors: Vec<Lead>,
}

/// Whether a description's words name `source` (the root cause's own words, before the
/// learned topology holds the link: the named source had not alerted yet when they came).
fn names_in_words(description: &str, source: &str) -> bool {
    super::candidates::looks_like_a_name(source)
        && super::candidates::description_words(description).any(|w| w == source)
}
