//! Health: a 0-100 score per server and for the fleet, where every point taken off is a named,
//! explained deduction (so a score can always be argued with).
//!
//! A server starts at 100 and loses points for what matters now: readings gone stale, CPU, memory
//! or disk over the status thresholds (80% warning, 90% critical, as the fleet status uses), use
//! that stays high, load beyond the cores, recent anomalies, and a disk or memory trend that runs
//! out within a week. 80 and above is healthy, 50 to 79 needs attention, below 50 is critical.

mod explain;

use serde::Serialize;

use crate::anomaly;
use crate::fleet::{Ctx, Fleet, Outcome, Server};
use crate::input::ServerSeries;
use crate::lang::Lang;
use crate::metric::Metric;
use crate::prediction::{self, Outlook};
use crate::report::Severity;
use crate::stats::{median, quantile};

/// Why points were taken off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// No recent readings: the server may be down or unreachable.
    Stale,
    /// A metric is over the critical line (90%) now.
    LevelCritical,
    /// A metric is over the warning line (80%) now.
    LevelWarning,
    /// p95 over the range is above 90%.
    SustainedHigh,
    /// More runnable tasks than cores.
    LoadPerCore,
    /// Anomalies in the last 24 hours.
    Anomalies,
    /// Disk or memory runs out within a week.
    Exhaustion,
}

/// One deduction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deduction {
    /// Why.
    pub reason: Reason,
    /// The metric concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Points taken off.
    pub points: u32,
    /// The value that triggered it (percent, load per core, seconds, count).
    pub value: f64,
    /// The line it crossed.
    pub threshold: f64,
    /// The deduction in words, in the requested language.
    pub text: String,
}

/// A server's score and the deductions behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerHealth {
    /// 0-100, or `None` when the server has no readings at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Healthy (info), warning or critical.
    pub grade: Severity,
    /// Every deduction, largest first.
    pub deductions: Vec<Deduction>,
    /// The latest reading of any metric, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// The least-healthy server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Worst {
    /// The server id.
    pub server_id: String,
    /// The display name.
    pub server_name: String,
    /// Its score.
    pub score: f64,
}

/// The fleet's score: the mean of its servers' scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetHealth {
    /// 0-100.
    pub score: f64,
    /// Servers in scope.
    pub servers: usize,
    /// Servers scored 80 or more.
    pub healthy: usize,
    /// Servers scored 50 to 79.
    pub warning: usize,
    /// Servers scored below 50.
    pub critical: usize,
    /// Servers without readings.
    pub unscored: usize,
    /// The lowest-scored server.
    pub worst: Option<Worst>,
}

/// Status lines, as the fleet's status uses them (API.md: warning above 80, critical above 90).
const WARNING_LINE: f64 = 80.0;
const CRITICAL_LINE: f64 = 90.0;
/// Readings older than this many sampling intervals (and five minutes) are stale.
const STALE_INTERVALS: i64 = 3;
const STALE_MIN_SECS: i64 = 300;
/// Anomalies count against health for this long.
const ANOMALY_WINDOW_SECS: i64 = 86_400;
/// Limits whose exhaustion counts: running out of disk or memory, not a CPU trend.
const EXHAUSTION: [(Metric, f64); 2] = [(Metric::Disk, 100.0), (Metric::Memory, 95.0)];

/// Grades a score: 80+ healthy, 50-79 warning, below 50 critical.
pub fn grade(score: f64) -> Severity {
    if score >= 80.0 {
        Severity::Info
    } else if score >= 50.0 {
        Severity::Warning
    } else {
        Severity::Critical
    }
}

/// Scores one server at `now`, with the deductions written in `lang`.
pub fn assess(server: &ServerSeries, now: i64, lang: Lang) -> ServerHealth {
    assess_server(&Server::new(server), now, lang, 3.5)
}

/// [`assess`] on a prepared server.
pub(crate) fn assess_server(server: &Server<'_>, now: i64, lang: Lang, anomaly_z: f64) -> ServerHealth {
    let last_seen = server.series.values().filter_map(|s| s.last()).map(|p| p.ts).max();
    let Some(last_seen) = last_seen else {
        return ServerHealth { score: None, grade: Severity::Warning, deductions: Vec::new(), last_seen: None };
    };
    let mut found: Vec<(Reason, Option<Metric>, u32, f64, f64)> = Vec::new();

    let interval = server.series.values().filter_map(|s| s.median_interval()).min().unwrap_or(0);
    let allowed = (STALE_INTERVALS * interval).max(STALE_MIN_SECS);
    let age = now.saturating_sub(last_seen);
    if age > allowed {
        found.push((Reason::Stale, None, 40, age as f64, allowed as f64));
    }
    for metric in [Metric::Cpu, Metric::Memory, Metric::Disk] {
        let Some(series) = server.series(metric) else { continue };
        let values = series.values();
        // The median of the last three readings: "now", without letting one reading decide.
        let level = median(&values[values.len().saturating_sub(3)..]).unwrap_or(0.0);
        if level > CRITICAL_LINE {
            found.push((Reason::LevelCritical, Some(metric), 30, level, CRITICAL_LINE));
        } else if level > WARNING_LINE {
            found.push((Reason::LevelWarning, Some(metric), 15, level, WARNING_LINE));
        }
        if metric != Metric::Disk && values.len() >= anomaly::MIN_POINTS {
            let p95 = quantile(&values, 0.95).unwrap_or(0.0);
            if p95 > CRITICAL_LINE {
                found.push((Reason::SustainedHigh, Some(metric), 10, p95, CRITICAL_LINE));
            }
        }
    }
    let cores = f64::from(server.specs.cpu_cores);
    if let Some(load) = server.series(Metric::Load1).and_then(|s| s.last()).filter(|_| cores > 0.0) {
        let per_core = load.value / cores;
        if per_core > 2.0 {
            found.push((Reason::LoadPerCore, Some(Metric::Load1), 15, per_core, 2.0));
        } else if per_core > 1.0 {
            found.push((Reason::LoadPerCore, Some(Metric::Load1), 5, per_core, 1.0));
        }
    }
    let recent = server
        .series
        .iter()
        .flat_map(|(m, s)| anomaly::detect_series(s, *m, anomaly_z))
        .filter(|a| a.end >= now.saturating_sub(ANOMALY_WINDOW_SECS))
        .count();
    if recent > 0 {
        let points = (5 * recent as u32).min(15);
        found.push((Reason::Anomalies, None, points, recent as f64, 0.0));
    }
    for (metric, limit) in EXHAUSTION {
        let Some(trend) = server.series(metric).and_then(|s| prediction::fit(s, now)) else { continue };
        if trend.r2 < 0.5 {
            continue;
        }
        if let Outlook::Reaches { in_secs, .. } = prediction::outlook(Some(&trend), limit, now, 7 * 86_400) {
            let points = if in_secs <= 2 * 86_400 { 20 } else { 10 };
            found.push((Reason::Exhaustion, Some(metric), points, in_secs as f64, limit));
        }
    }

    let mut deductions: Vec<Deduction> = found
        .into_iter()
        .map(|(reason, metric, points, value, threshold)| Deduction {
            reason,
            metric,
            points,
            value: crate::text::round(value, 2),
            threshold,
            text: explain::reason(reason, metric, value, threshold, lang),
        })
        .collect();
    deductions.sort_by_key(|d| std::cmp::Reverse(d.points));
    let score = 100u32.saturating_sub(deductions.iter().map(|d| d.points).sum()) as f64;
    ServerHealth { score: Some(score), grade: grade(score), deductions, last_seen: Some(last_seen) }
}

/// The health analysis: every server in scope, then the fleet.
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let mut scored: Vec<(&Server<'_>, ServerHealth)> =
        fleet.focus(ctx).map(|s| (s, assess_server(s, ctx.now, ctx.lang, ctx.opts.anomaly_z))).collect();
    // Worst first; servers without data (possibly down) before all.
    scored.sort_by(|(_, a), (_, b)| a.score.unwrap_or(-1.0).total_cmp(&b.score.unwrap_or(-1.0)));

    let scores: Vec<f64> = scored.iter().filter_map(|(_, h)| h.score).collect();
    let summary = (!scores.is_empty()).then(|| {
        let count = |g: Severity| scores.iter().filter(|s| grade(**s) == g).count();
        let worst = scored.iter().find_map(|(s, h)| {
            Some(Worst { server_id: s.id.to_string(), server_name: s.label().to_string(), score: h.score? })
        });
        FleetHealth {
            score: crate::text::round(scores.iter().sum::<f64>() / scores.len() as f64, 1),
            servers: scored.len(),
            healthy: count(Severity::Info),
            warning: count(Severity::Warning),
            critical: count(Severity::Critical),
            unscored: scored.len() - scores.len(),
            worst,
        }
    });

    let mut findings = Vec::new();
    findings.extend(summary.clone().map(|f| explain::fleet_finding(f, ctx.lang)));
    findings.extend(scored.into_iter().map(|(s, h)| explain::server_finding(s, h, ctx)));
    Outcome {
        findings,
        score: summary.as_ref().map(|f| f.score),
        headline: summary.map(|f| {
            ctx.lang.pick(format!("전체 건강 점수 {:.0}/100.", f.score), format!("Fleet health {:.0}/100.", f.score))
        }),
        servers: fleet.focus(ctx).count(),
        // Health reads every metric whatever `metric` asks for, so every point counts.
        points: fleet.focus(ctx).flat_map(|s| s.series.values()).map(|s| s.len()).sum(),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests;
