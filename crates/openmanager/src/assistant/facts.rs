//! What the built-in local engine knows, its `FactsSource`: a snapshot on every question (the fleet,
//! the hub's time zone, the names of engines), then exactly what the resolved question asks: history
//! through the fleet's one series function, alerts and silences, the event log, the budget, the
//! gateway's status, the service checks. Built from services below the gateway; the gateway's own status reaches it
//! through [`GatewayView`], which a job refreshes, so nothing points back up.

use std::sync::Arc;

use ai::local::{
    AiQuotaFact, AlertFact, AlertState, BudgetFact, CheckFact, CpuShare, Directory, EgressFact, EventFact, EventKind,
    Facts, FactsNeed, GatewayFact, ProcessFact, Series, ServerFact, SilenceFact, Specs, UsedOf,
};
use ai::{BoxFuture, FactsSource};

use crate::alerts::{self, Alerting};
use crate::budget::Budget;
use crate::checks::Checks;
use crate::checks::wire::CheckView;
use crate::clock;
use crate::events::{self, EventLog};
use crate::fleet::Fleet;
use crate::fleet::metric::Metric;
use crate::telemetry::gateway_view::GatewayView;

/// Alerts handed to the engine at most (newest first).
const MAX_ALERTS: usize = 1_000;

pub struct HubFacts {
    pub fleet: Arc<Fleet>,
    pub alerting: Arc<Alerting>,
    pub budget: Arc<Budget>,
    pub events: Arc<EventLog>,
    pub checks: Arc<Checks>,
    pub gateway: Arc<GatewayView>,
}

impl FactsSource for HubFacts {
    fn snapshot<'a>(&'a self) -> BoxFuture<'a, Facts> {
        Box::pin(async move { self.snapshot() })
    }

    fn fill<'a>(&'a self, need: &'a FactsNeed, facts: &'a mut Facts) -> BoxFuture<'a, ()> {
        Box::pin(self.fill(need, facts))
    }
}

/// A check as the engine reads it: what `/api/checks` answers at this moment.
fn check_fact(v: &CheckView) -> CheckFact {
    CheckFact {
        id: v.spec.id.clone().unwrap_or_default(),
        name: v.spec.name.clone(),
        kind: as_str(&v.spec.kind),
        target: v.spec.target.clone(),
        status: as_str(&v.state.status),
        latency_ms: v.state.latency_ms,
        uptime_24h: v.uptime.h24,
        uptime_7d: v.uptime.d7,
        cert_days_left: v.state.cert_days_left,
        last_error: v.state.error.clone(),
    }
}

fn as_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

impl HubFacts {
    fn snapshot(&self) -> Facts {
        let now = clock::now_millis();
        let offset = jiff::Timestamp::from_millisecond(now)
            .map(|t| self.budget.config().zone().to_offset(t).seconds())
            .unwrap_or(0);
        let servers = self
            .fleet
            .snapshots(now)
            .iter()
            .map(|s| ServerFact {
                id: s.view.id.clone(),
                name: s.view.name.clone(),
                server_type: s.view.server_type.as_str().to_string(),
                status: as_str(&s.view.status),
                cpu: s.view.cpu,
                memory: s.view.memory,
                disk: s.view.disk,
                network_in: s.view.network_in,
                network_out: s.view.network_out,
                load: s.live.map(|l| l.load).unwrap_or_default(),
                uptime_secs: s.view.uptime,
                environment: s.view.environment.clone(),
                location: s.view.location.clone(),
                provider: s.view.provider.clone(),
                source: s.view.source.as_str().to_string(),
                specs: Specs {
                    cpu_cores: s.view.specs.cpu_cores,
                    memory_bytes: (s.view.specs.memory_gb * 1e9) as u64,
                    disk_bytes: (s.view.specs.disk_gb * 1e9) as u64,
                },
                firing_alerts: s.view.alerts,
            })
            .collect();
        let engines = self
            .gateway
            .get()
            .map(|(st, _)| st.engines.iter().map(|e| (e.name.clone(), e.kind.to_string())).collect())
            .unwrap_or_default();
        Facts {
            now_ms: now,
            utc_offset_secs: offset,
            servers,
            // Names only, so a question can name a check before its details are fetched.
            directory: Directory { checks: self.checks.list(now).into_iter().map(|c| c.spec.name).collect(), engines },
            ..Facts::default()
        }
    }

    async fn fill(&self, need: &FactsNeed, facts: &mut Facts) {
        for want in &need.series {
            let Some(metric) = Metric::parse(want.metric.key()) else { continue };
            let ids: Vec<String> = facts
                .servers
                .iter()
                .filter(|s| want.servers.is_empty() || want.servers.contains(&s.id))
                .map(|s| s.id.clone())
                .collect();
            for id in ids {
                match self.fleet.series(&id, &[metric], want.from_ms, want.to_ms, want.max_points.min(3_000)).await {
                    Ok(mut all) => {
                        if let Some((_, points)) = all.pop()
                            && !points.is_empty()
                        {
                            facts.series.push(Series { server_id: id, metric: want.metric.key().to_string(), points });
                        }
                    }
                    Err(e) => tracing::warn!(server = id, error = %e, "history for the assistant failed"),
                }
            }
        }
        if need.alerts {
            let silences = self.silence_facts(facts.now_ms);
            let mut list: Vec<AlertFact> =
                self.alerting.engine().list(&Default::default(), MAX_ALERTS).iter().map(alert_fact).collect();
            for a in &mut list {
                a.silenced = silences.iter().any(|s| s.is_active(facts.now_ms) && s.matches(a));
            }
            facts.alerts = Some(list);
        }
        if need.silences {
            facts.silences = Some(self.silence_facts(facts.now_ms));
        }
        if let Some((from, to)) = need.events {
            facts.events = Some(self.events.between(from, to).iter().map(event_fact).collect());
        }
        let gateway = self.gateway.get();
        if need.budget {
            facts.budget = Some(self.budget_fact(gateway.as_ref().map(|(st, _)| st)));
        }
        if need.gateway {
            facts.gateway = gateway.as_ref().map(|(st, queries)| GatewayFact::from_status(st, *queries));
        }
        if need.checks {
            facts.checks = Some(self.checks.list(facts.now_ms).iter().map(check_fact).collect());
        }
    }

    fn silence_facts(&self, _now_ms: i64) -> Vec<SilenceFact> {
        self.alerting
            .silences()
            .iter()
            .map(|s| SilenceFact {
                id: s.id.clone(),
                rule_id: s.matchers.rule_id.clone(),
                server_id: s.matchers.server_id.clone(),
                severity: s.matchers.severity.map(|v| v.as_str().to_string()),
                starts_at_ms: s.starts_at.as_millisecond(),
                ends_at_ms: s.ends_at.as_millisecond(),
                comment: s.comment.clone(),
                created_by: s.created_by.clone(),
            })
            .collect()
    }

    fn budget_fact(&self, gateway: Option<&ai::AiStatus>) -> BudgetFact {
        let engines = gateway.map(|st| st.engines.as_slice()).unwrap_or_default();
        let r = crate::budget::report::build(&self.budget, &self.fleet, engines);
        BudgetFact {
            month: r.month.key,
            egress: r.egress.available.then_some(EgressFact {
                month_to_date_bytes: r.egress.month_to_date_bytes,
                projected_bytes: r.egress.projected_bytes,
                limit_bytes: r.egress.limit_bytes,
                hub_bytes: None,
            }),
            vm_hours: Some(UsedOf { used: r.vm_hours.used, limit: r.vm_hours.limit }),
            disk: Some(UsedOf { used: r.disk.used_bytes as f64, limit: r.disk.limit_bytes as f64 }),
            cpu: r
                .cpu
                .average_percent
                .map(|a| CpuShare { average_percent: a, sustained_percent: r.cpu.sustained_percent }),
            ai: r
                .ai
                .into_iter()
                .map(|q| AiQuotaFact {
                    provider: q.provider,
                    requests_today: q.requests_today,
                    daily_limit: q.daily_limit,
                    exhausted: q.exhausted,
                })
                .collect(),
        }
    }
}

fn alert_fact(a: &alerts::Alert) -> AlertFact {
    AlertFact {
        id: a.id.clone(),
        rule_id: a.rule_id.clone(),
        rule_name: a.rule_name.clone(),
        server_id: a.server_id.clone(),
        server_name: a.server_name.clone(),
        severity: a.severity.as_str().to_string(),
        metric: a.metric.as_str().to_string(),
        op: as_str(&a.op),
        value: a.value,
        threshold: a.threshold,
        state: match a.state {
            alerts::AlertState::Pending => AlertState::Pending,
            alerts::AlertState::Firing => AlertState::Firing,
            alerts::AlertState::Resolved => AlertState::Resolved,
        },
        started_at_ms: a.started_at,
        fired_at_ms: a.fired_at,
        resolved_at_ms: a.resolved_at,
        acknowledged_by: a.acknowledged_by.clone(),
        acknowledged_at_ms: a.acknowledged_at,
        silenced: false,
        window_secs: None,
        top_processes: a
            .top_processes
            .iter()
            .map(|p| ProcessFact { pid: p.pid, name: p.name.clone(), cpu: p.cpu, memory_bytes: p.memory_bytes })
            .collect(),
        // The engine reads the history around the firing itself.
        evidence: Vec::new(),
    }
}

fn event_fact(e: &events::Event) -> EventFact {
    EventFact {
        at_ms: e.at_ms,
        kind: match e.kind {
            events::EventKind::StatusChanged => EventKind::StatusChanged,
            events::EventKind::AlertFired => EventKind::AlertFired,
            events::EventKind::AlertResolved => EventKind::AlertResolved,
            events::EventKind::Restart => EventKind::Restart,
            events::EventKind::ServerAdded => EventKind::ServerAdded,
            events::EventKind::ServerRemoved => EventKind::ServerRemoved,
            events::EventKind::CheckDown => EventKind::CheckDown,
            events::EventKind::CheckUp => EventKind::CheckUp,
        },
        server_id: e.server_id.clone(),
        check: e.check.clone(),
        from: e.from.clone(),
        to: e.to.clone(),
        detail: e.detail.clone(),
    }
}
