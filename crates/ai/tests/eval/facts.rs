//! The evaluation world as the engine sees it: `ai::local::Facts` with every part, served through a
//! `FixtureSource` so each question gets only what it asks for.

use ai::local::{
    AiQuotaFact, AlertFact, AlertState, BudgetFact, CheckFact, CpuShare, Directory, EgressFact, EngineFact, EventFact,
    EventKind, Facts, GatewayFact, ProcessFact, Series, ServerFact, SilenceFact, Specs, UsedOf,
};

use super::world::{NOW, OFFSET_SECS, World};

fn kind(k: &str) -> EventKind {
    match k {
        "status_changed" => EventKind::StatusChanged,
        "alert_fired" => EventKind::AlertFired,
        "alert_resolved" => EventKind::AlertResolved,
        "anomaly" => EventKind::Anomaly,
        "restart" => EventKind::Restart,
        "server_added" => EventKind::ServerAdded,
        "server_removed" => EventKind::ServerRemoved,
        "check_down" => EventKind::CheckDown,
        _ => EventKind::CheckUp,
    }
}

/// Every part of the world.
pub fn facts(w: &World) -> Facts {
    let servers = w
        .servers
        .iter()
        .map(|s| ServerFact {
            id: s.id.clone(),
            name: s.name.clone(),
            server_type: s.server_type.clone(),
            status: s.status.clone(),
            cpu: s.cpu,
            memory: s.memory,
            disk: s.disk,
            network_in: s.net_in,
            network_out: s.net_out,
            load: s.load,
            uptime_secs: s.uptime_secs,
            environment: s.environment.clone(),
            location: s.location.clone(),
            provider: s.provider.clone(),
            source: s.source.clone(),
            specs: Specs {
                cpu_cores: s.cores,
                memory_bytes: (s.memory_gb * 1e9) as u64,
                disk_bytes: (s.disk_gb * 1e9) as u64,
            },
            firing_alerts: s.firing,
        })
        .collect();
    let alerts = w
        .alerts
        .iter()
        .map(|a| AlertFact {
            id: a.id.clone(),
            rule_id: a.rule_id.clone(),
            rule_name: a.rule_name.clone(),
            server_id: a.server_id.clone(),
            server_name: w.server(&a.server_id).map(|s| s.name.clone()).unwrap_or_default(),
            severity: a.severity.clone(),
            metric: a.metric.clone(),
            op: a.op.clone(),
            value: a.value,
            threshold: a.threshold,
            state: match a.state.as_str() {
                "pending" => AlertState::Pending,
                "resolved" => AlertState::Resolved,
                _ => AlertState::Firing,
            },
            started_at_ms: a.started,
            fired_at_ms: a.fired,
            resolved_at_ms: a.resolved,
            acknowledged_by: a.acked_by.clone(),
            acknowledged_at_ms: a.acked_at,
            silenced: a.silenced,
            window_secs: Some(a.window_secs),
            top_processes: a
                .processes
                .iter()
                .map(|p| ProcessFact { pid: p.pid, name: p.name.clone(), cpu: p.cpu, memory_bytes: p.memory_bytes })
                .collect(),
            evidence: a.evidence.clone(),
        })
        .collect();
    let silences = w
        .silences
        .iter()
        .map(|s| SilenceFact {
            id: s.id.clone(),
            rule_id: s.rule_id.clone(),
            server_id: s.server_id.clone(),
            severity: s.severity.clone(),
            starts_at_ms: s.starts,
            ends_at_ms: s.ends,
            comment: s.comment.clone(),
            created_by: s.created_by.clone(),
        })
        .collect();
    let events = w
        .events
        .iter()
        .map(|e| EventFact {
            at_ms: e.at,
            kind: kind(&e.kind),
            server_id: e.server_id.clone(),
            check: e.check.clone(),
            from: e.from.clone(),
            to: e.to.clone(),
            detail: e.detail.clone(),
        })
        .collect();
    let b = &w.budget;
    let budget = BudgetFact {
        month: b.month.clone(),
        egress: Some(EgressFact {
            month_to_date_bytes: b.egress_mtd,
            projected_bytes: b.egress_projected,
            limit_bytes: b.egress_limit,
            hub_bytes: Some(b.egress_hub),
        }),
        vm_hours: Some(UsedOf { used: b.vm_used, limit: b.vm_limit }),
        disk: Some(UsedOf { used: b.disk_used as f64, limit: b.disk_limit as f64 }),
        cpu: Some(CpuShare { average_percent: b.cpu_avg, sustained_percent: b.cpu_sustained }),
        ai: b
            .ai
            .iter()
            .map(|(p, used, limit)| AiQuotaFact {
                provider: p.clone(),
                requests_today: *used,
                daily_limit: *limit,
                exhausted: false,
            })
            .collect(),
    };
    let gateway = GatewayFact {
        engines: w
            .engines
            .iter()
            .map(|e| EngineFact {
                name: e.name.clone(),
                kind: e.kind.clone(),
                health: e.health.clone(),
                circuit: e.circuit.clone(),
                day_used: e.day_used,
                day_limit: e.day_limit,
                day_exhausted: false,
                requests: e.requests,
                errors: u64::from(e.last_error.is_some()),
                last_error: e.last_error.clone(),
            })
            .collect(),
        chain: w.chain.clone(),
        cache_hits: w.cache_hits,
        cache_misses: w.cache_misses,
        queries: w.queries,
    };
    let checks = w
        .checks
        .iter()
        .map(|c| CheckFact {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            target: c.target.clone(),
            status: c.status.clone(),
            latency_ms: c.latency_ms,
            uptime_24h: c.uptime_24h,
            uptime_7d: c.uptime_7d,
            cert_days_left: c.cert_days,
            last_error: c.error.clone(),
        })
        .collect();
    let series = w
        .series
        .iter()
        .map(|((id, metric), points)| Series { server_id: id.clone(), metric: metric.clone(), points: points.clone() })
        .collect();
    Facts {
        now_ms: NOW,
        utc_offset_secs: OFFSET_SECS,
        servers,
        directory: Directory {
            checks: w.checks.iter().map(|c| c.name.clone()).collect(),
            engines: w.engines.iter().map(|e| (e.name.clone(), e.kind.clone())).collect(),
        },
        series,
        alerts: Some(alerts),
        silences: Some(silences),
        events: Some(events),
        budget: Some(budget),
        gateway: Some(gateway),
        checks: Some(checks),
    }
}
