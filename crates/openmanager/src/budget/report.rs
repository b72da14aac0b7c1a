//! The `GET /api/budget` body: each resource of the plan with its use, limit and percent.

use serde::Serialize;
use utoipa::ToSchema;

use super::Budget;
use crate::fleet::{Fleet, SELF_ID};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetReport {
    pub month: MonthInfo,
    pub egress: Egress,
    pub vm_hours: VmHours,
    pub disk: Usage,
    pub cpu: Cpu,
    pub memory: Memory,
    /// Each AI engine with a daily quota or traffic today.
    pub ai: Vec<AiQuota>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthInfo {
    /// `YYYY-MM` in the plan's zone.
    pub key: String,
    pub start: String,
    pub end: String,
    pub timezone: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Egress {
    /// False until the first reading (or without self-monitoring).
    pub available: bool,
    pub month_to_date_bytes: u64,
    /// At the month's end if the rate so far continues.
    pub projected_bytes: u64,
    pub limit_bytes: u64,
    /// Month to date against the limit.
    pub percent: f64,
    pub projected_percent: f64,
    /// The earliest moment the month-to-date covers.
    pub counted_since: Option<String>,
    /// Interfaces counted.
    pub interfaces: Vec<String>,
    /// Bytes the hub itself sent since it started, per HTTP route group (after compression, with
    /// status line and headers), and the requests it made as `outbound:ai`, `outbound:notify` and
    /// `outbound:remote_write` (bodies plus an estimate of their heads; TLS overhead not counted).
    pub by_route: std::collections::BTreeMap<String, u64>,
    /// Bytes the hub sent per WebSocket topic since it started, as they left the socket.
    pub by_topic: std::collections::BTreeMap<String, u64>,
    /// `byRoute` (outbound requests included) and `byTopic` together.
    pub hub_bytes: u64,
    /// `hubBytes` against the month's limit.
    pub hub_percent: f64,
    /// When the hub's own counts started (its start).
    pub hub_counted_since: String,
    pub guard: EgressGuard,
}

/// The egress guard: while active, the hub sends live updates less often.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EgressGuard {
    pub active: bool,
    /// `budget.egress_guard_percent`: projected month egress, in percent of the limit, that turns it on.
    pub threshold_percent: f64,
    /// The WebSocket `fleet` topic's interval now.
    pub fleet_interval_ms: u64,
    /// The WebSocket `live` topic's interval now.
    pub live_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VmHours {
    pub used: f64,
    pub limit: f64,
    pub percent: f64,
    /// Hours in this month (a 30-day month has 720, within the 744 limit).
    pub month_hours: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub used_bytes: u64,
    pub limit_bytes: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// This month's average host CPU, percent of the whole machine.
    pub average_percent: Option<f64>,
    pub current_percent: Option<f64>,
    /// What the machine sustains without spending burst credit.
    pub sustained_percent: f64,
    /// Seconds this month above the sustained share.
    pub burst_seconds: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub used_bytes: u64,
    pub total_bytes: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiQuota {
    pub provider: String,
    /// Requests since midnight Pacific (when the provider's day rolls over).
    pub requests_today: u32,
    pub daily_limit: Option<u32>,
    pub remaining: Option<u32>,
    /// An upstream said the day's quota is spent.
    pub exhausted: bool,
    /// Tokens since this process started.
    pub tokens: u64,
}

fn percent(used: f64, limit: f64) -> f64 {
    if limit > 0.0 { (used / limit * 1000.0).round() / 10.0 } else { 0.0 }
}

/// The report now: the ledger against the plan, this host's disk and memory, and each AI engine's
/// daily quota from the gateway's status (its `engines`).
/// The WebSocket `fleet` and `live` intervals (ms) with the guard on or off.
pub fn guard_intervals(active: bool, fleet_interval_ms: u64) -> (u64, u64) {
    if active { (fleet_interval_ms.max(30_000), 5_000) } else { (fleet_interval_ms, 1_000) }
}

pub fn build(budget: &Budget, fleet: &Fleet, engines: &[ai::EngineStatus]) -> BudgetReport {
    let fleet_interval_ms = budget.egress.fleet_interval_ms();
    let plan = budget.config();
    let now = crate::clock::now_millis();
    let month = budget.month(now);
    let ledger = budget.ledger().filter(|l| l.month == month.key);
    let snap = fleet.get(SELF_ID, now);
    let detail = snap.as_ref().and_then(|s| s.detail.clone());
    let live = snap.as_ref().and_then(|s| s.live);

    let (mtd, projected) = ledger.as_ref().map_or((0, 0), |l| (l.egress_bytes, l.projected_egress(now, &month)));
    let limit = plan.egress_limit_bytes;
    let egress = Egress {
        available: ledger.is_some(),
        month_to_date_bytes: mtd,
        projected_bytes: projected,
        limit_bytes: limit,
        percent: percent(mtd as f64, limit as f64),
        projected_percent: percent(projected as f64, limit as f64),
        counted_since: ledger.as_ref().map(|l| crate::clock::millis_rfc3339(l.counted_since_ms)),
        interfaces: ledger.as_ref().map(|l| l.counters.keys().cloned().collect()).unwrap_or_default(),
        by_route: budget.egress.by_route(),
        by_topic: budget.egress.by_topic(),
        hub_bytes: budget.egress.total(),
        hub_percent: percent(budget.egress.total() as f64, limit as f64),
        hub_counted_since: crate::clock::millis_rfc3339(budget.egress.since_ms()),
        guard: {
            let active = budget.egress_guard(now);
            let (fleet, live) = guard_intervals(active, fleet_interval_ms);
            EgressGuard {
                active,
                threshold_percent: plan.egress_guard_percent,
                fleet_interval_ms: fleet,
                live_interval_ms: live,
            }
        },
    };
    let used_hours = ledger.as_ref().map_or_else(
        // Without a ledger yet, this boot's time in the month is still known.
        || detail.as_ref().map_or(0.0, |d| (now - d.boot_time_ms.max(month.start_ms)).max(0) as f64 / 3_600_000.0),
        |l| l.vm_hours(now, &month),
    );
    let used_hours = (used_hours * 100.0).round() / 100.0;
    // The disk GCP bills is the boot disk: the root file system, else the largest one.
    let root = detail.as_ref().and_then(|d| {
        d.disks.iter().find(|x| x.mount == "/").or_else(|| d.disks.iter().max_by_key(|x| x.total_bytes)).cloned()
    });
    let disk_used = root.map_or(0, |d| d.used_bytes);
    let total_mem = detail.as_ref().map_or(0, |d| d.memory_total_bytes);
    let mem_percent = live.and_then(|l| l.memory).unwrap_or(0.0);
    let ai = engines
        .iter()
        .filter(|e| e.configured && (e.quota.day_limit.is_some() || e.quota.day_used > 0))
        .map(|e| AiQuota {
            provider: e.name.clone(),
            requests_today: e.quota.day_used,
            daily_limit: e.quota.day_limit,
            remaining: e.quota.day_requests,
            exhausted: e.quota.day_exhausted,
            tokens: e.tokens.prompt_tokens + e.tokens.completion_tokens,
        })
        .collect();
    BudgetReport {
        month: MonthInfo {
            key: month.key.clone(),
            start: crate::clock::millis_rfc3339(month.start_ms),
            end: crate::clock::millis_rfc3339(month.end_ms),
            timezone: plan.timezone.clone(),
        },
        egress,
        vm_hours: VmHours {
            used: used_hours,
            limit: plan.vm_hours,
            percent: percent(used_hours, plan.vm_hours),
            month_hours: month.hours(),
        },
        disk: Usage {
            used_bytes: disk_used,
            limit_bytes: plan.disk_limit_bytes,
            percent: percent(disk_used as f64, plan.disk_limit_bytes as f64),
        },
        cpu: Cpu {
            average_percent: ledger.as_ref().and_then(|l| l.cpu_average()).map(|c| (c * 10.0).round() / 10.0),
            current_percent: live.and_then(|l| l.cpu),
            sustained_percent: plan.cpu_sustained_percent,
            burst_seconds: ledger.as_ref().map_or(0.0, |l| l.burst_secs.round()),
        },
        memory: Memory {
            used_bytes: (total_mem as f64 * mem_percent / 100.0) as u64,
            total_bytes: total_mem,
            percent: (mem_percent * 10.0).round() / 10.0,
        },
        ai,
    }
}
