//! Right-sizing: compares sustained use (p95 over the range, so brief spikes do not count) with the
//! hardware a server has, and suggests a size that would put p95 near a comfortable target.
//!
//! Suggestions are rounded up to powers of two (cores, GB of memory), the sizes cloud instances
//! come in, and disks to the next 10 GB. Disks are only ever grown: data rarely shrinks.

use serde::Serialize;

use crate::fleet::{Ctx, Fleet, Outcome, count_points};
use crate::input::{Point, Specs};
use crate::lang::Lang;
use crate::metric::Metric;
use crate::report::{Evidence, Finding, FindingKind, Severity, sort_findings};
use crate::series::Series;
use crate::stats::{quantile_sorted, sorted};
use crate::text;

/// The fewest points a verdict needs.
pub const MIN_POINTS: usize = 30;
/// The shortest range a verdict needs: sizing on minutes of data would chase noise.
pub const MIN_SPAN_SECS: i64 = 3_600;
/// Below this p95 a resource is over-provisioned.
pub const LOW_P95: f64 = 20.0;
/// Above this p95 a resource is under-provisioned.
pub const HIGH_P95: f64 = 80.0;

/// The verdict on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Sustained use is low: the server could be smaller.
    OverProvisioned,
    /// Sustained use is high: the server needs more.
    UnderProvisioned,
    /// Use fits the hardware.
    RightSized,
}

/// Sustained use of one resource against its size, and the suggested size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sizing {
    /// `cpu`, `memory` or `disk`.
    pub metric: Metric,
    /// The verdict.
    pub verdict: Verdict,
    /// The current size, in `unit`.
    pub current: f64,
    /// `cores` or `GB`.
    pub unit: &'static str,
    /// Median use, percent.
    pub p50: f64,
    /// 95th-percentile use, percent.
    pub p95: f64,
    /// Highest use, percent.
    pub max: f64,
    /// The p95 in `unit` (cores or GB busy at p95).
    pub used_p95: f64,
    /// The suggested size, in `unit` (equal to `current` when right-sized).
    pub suggested: f64,
    /// The p95 the suggestion aims to stay under, percent.
    pub target_p95: f64,
    /// What p95 would be at the suggested size, percent.
    pub projected_p95: f64,
    /// Points read.
    pub points: usize,
    /// First reading, unix seconds.
    pub from: i64,
    /// Last reading, unix seconds.
    pub to: i64,
}

/// Sizes `metric` (`cpu`, `memory` or `disk`, in percent) against `specs`. `None` for other metrics,
/// an unknown size, or too little data.
pub fn right_size(points: &[Point], metric: Metric, specs: &Specs) -> Option<Sizing> {
    right_size_series(&Series::new(points), metric, specs)
}

/// [`right_size`] on a cleaned series.
pub(crate) fn right_size_series(series: &Series, metric: Metric, specs: &Specs) -> Option<Sizing> {
    // CPU keeps the most headroom: it saturates abruptly, while memory and disk fill gradually.
    let (current, unit, target) = match metric {
        Metric::Cpu => (f64::from(specs.cpu_cores), "cores", 60.0),
        Metric::Memory => (specs.memory_gb, "GB", 70.0),
        Metric::Disk => (specs.disk_gb, "GB", 70.0),
        _ => return None,
    };
    let (from, to) = series.bounds()?;
    if !(current > 0.0 && current.is_finite()) || series.len() < MIN_POINTS || to - from < MIN_SPAN_SECS {
        return None;
    }
    let values = sorted(&series.values());
    let p95 = quantile_sorted(&values, 0.95)?.clamp(0.0, 100.0);
    let used = current * p95 / 100.0;
    let need = used / (target / 100.0);
    let size = |need: f64| match metric {
        Metric::Cpu => pow2_at_least(need, 1.0),
        Metric::Memory => pow2_at_least(need, 0.5),
        _ => (need / 10.0).ceil().max(1.0) * 10.0,
    };
    let (verdict, suggested) = if p95 > HIGH_P95 {
        (Verdict::UnderProvisioned, size(need).max(current))
    } else if p95 < LOW_P95 && metric != Metric::Disk && size(need) < current {
        (Verdict::OverProvisioned, size(need))
    } else {
        (Verdict::RightSized, current)
    };
    Some(Sizing {
        metric,
        verdict,
        current,
        unit,
        p50: text::round(quantile_sorted(&values, 0.5)?, 2),
        p95: text::round(p95, 2),
        max: text::round(*values.last()?, 2),
        used_p95: text::round(used, 2),
        suggested,
        target_p95: target,
        projected_p95: text::round(100.0 * used / suggested, 1),
        points: series.len(),
        from,
        to,
    })
}

/// The smallest power of two (times `min`) that is at least `need`.
fn pow2_at_least(need: f64, min: f64) -> f64 {
    let mut size = min;
    while size < need && size < 1e6 {
        size *= 2.0;
    }
    size
}

/// The right-sizing analysis over the servers in scope.
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let mut findings = Vec::new();
    for server in fleet.focus(ctx) {
        for metric in [Metric::Cpu, Metric::Memory, Metric::Disk].into_iter().filter(|m| ctx.wants(*m)) {
            let Some(sizing) = server.series(metric).and_then(|s| right_size_series(s, metric, &server.specs)) else {
                continue;
            };
            if sizing.verdict != Verdict::RightSized {
                findings.push(finding(server.id, server.label(), sizing, ctx));
            }
        }
    }
    sort_findings(&mut findings);
    Outcome {
        findings,
        servers: fleet.focus(ctx).count(),
        points: count_points(fleet.focus(ctx), ctx),
        ..Outcome::default()
    }
}

/// A size in words: `4 cores`, `1 core`, `16 GB`, `4코어`.
fn size(s: &Sizing, amount: f64, lang: Lang) -> String {
    let n = if amount.fract() == 0.0 { format!("{amount:.0}") } else { format!("{amount:.1}") };
    match (s.metric, lang) {
        (Metric::Cpu, Lang::Ko) => format!("{n}코어"),
        (Metric::Cpu, Lang::En) => format!("{n} {}", if amount == 1.0 { "core" } else { "cores" }),
        (_, _) => format!("{n} GB"),
    }
}

/// Writes a sizing verdict up as a finding.
fn finding(id: &str, label: &str, s: Sizing, ctx: &Ctx<'_>) -> Finding {
    let lang = ctx.lang;
    let name = text::metric_name(s.metric, lang);
    let (cur, sug) = (size(&s, s.current, lang), size(&s, s.suggested, lang));
    let used = size(&s, s.used_p95, lang);
    let used_num = if s.used_p95.fract() == 0.0 { format!("{:.0}", s.used_p95) } else { format!("{:.1}", s.used_p95) };
    let span = text::duration(s.to - s.from, lang);
    let over = s.verdict == Verdict::OverProvisioned;
    let title = match (over, lang) {
        (true, Lang::Ko) => format!("{label}: {name} 과다 할당 ({cur} → {sug})"),
        (true, Lang::En) => format!("{label} has more {name} than it uses ({cur} → {sug})"),
        (false, Lang::Ko) => format!("{label}: {name} 부족 ({cur} → {sug} 권장)"),
        (false, Lang::En) => format!("{label} needs more {name} ({cur} → {sug})"),
    };
    let description = lang.pick(
        format!(
            "최근 {span} 동안 {name} p95가 {:.1}%(중앙값 {:.1}%, 최대 {:.1}%)로, 피크에도 {cur} 중 약 {used}를 사용합니다. {sug}로 바꾸면 p95는 약 {:.0}%가 됩니다 (목표 {:.0}% 이하).",
            s.p95, s.p50, s.max, s.projected_p95, s.target_p95
        ),
        format!(
            "{} p95 is {:.1}% (median {:.1}%, max {:.1}%) over the last {span}: about {used_num} of {cur} busy at peak. With {sug}, p95 would be about {:.0}% (target {:.0}% or less).",
            text::metric_title(s.metric, lang),
            s.p95, s.p50, s.max, s.projected_p95, s.target_p95
        ),
    );
    let recommendation = match (over, s.metric) {
        (true, _) => lang.pick(
            "사양을 줄여 비용을 절감하세요. 줄이기 전에 월말 정산 같은 드문 피크가 분석 기간에 포함됐는지 확인하세요.",
            "Downsize to cut cost; first make sure the analysed range includes rare peaks such as month-end jobs.",
        ),
        (false, Metric::Cpu) => lang.pick(
            "CPU를 늘리거나 부하를 여러 서버로 분산하세요. 먼저 폭주하는 프로세스가 없는지 확인하세요.",
            "Add CPU or spread the load over more servers; first check for a runaway process.",
        ),
        (false, Metric::Memory) => lang.pick(
            "메모리를 늘리거나 많이 쓰는 프로세스를 찾으세요. 캐시는 상한을 두면 줄일 수 있습니다.",
            "Add memory or find what uses it; caches can often be capped.",
        ),
        (false, _) => lang.pick(
            "디스크를 늘리거나 정리하세요. 가득 차는 시점은 추세 예측 분석에서 확인할 수 있습니다.",
            "Grow the disk or clean it up; the prediction analysis says when it fills.",
        ),
    };
    let severity = match s.verdict {
        Verdict::UnderProvisioned if s.p95 >= 95.0 => Severity::Critical,
        Verdict::UnderProvisioned => Severity::Warning,
        _ => Severity::Info,
    };
    Finding {
        kind: if over { FindingKind::OverProvisioned } else { FindingKind::UnderProvisioned },
        severity,
        server_id: Some(id.to_string()),
        server_name: Some(label.to_string()),
        metric: Some(s.metric),
        title,
        description,
        recommendation: recommendation.to_string(),
        score: Some(s.p95),
        evidence: Evidence::Sizing(s),
    }
}

#[cfg(test)]
mod tests;
