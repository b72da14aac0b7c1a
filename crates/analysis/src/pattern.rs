//! Patterns: daily and hourly cycles (see `cycle`) and spikes that recur at the same time (see
//! `spike`), written up as findings with the local clock times they happen at.

mod cycle;
mod spike;

use serde::Serialize;

pub use cycle::Periodicity;
pub use spike::RecurringSpike;

use crate::fleet::{Ctx, Fleet, Outcome, count_points};
use crate::input::Point;
use crate::lang::Lang;
use crate::metric::{Metric, Unit};
use crate::report::{Evidence, Finding, FindingKind, Severity, sort_findings};
use crate::series::Series;
use crate::text::{self, metric_name, metric_title};

/// The period a pattern repeats with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cadence {
    /// Every 24 hours.
    Daily,
    /// Every hour.
    Hourly,
}

impl Cadence {
    /// The period, seconds.
    pub fn period_secs(self) -> i64 {
        match self {
            Cadence::Daily => 86_400,
            Cadence::Hourly => 3_600,
        }
    }

    /// The slot a recurring spike is placed in: an hour of the day, a minute of the hour.
    pub fn slot_secs(self) -> i64 {
        match self {
            Cadence::Daily => 3_600,
            Cadence::Hourly => 60,
        }
    }
}

/// Measures the `cadence` cycle of `points` (times placed in `utc_offset_secs`). `None` when the
/// series is too short (three periods at least), too coarse or too gappy; see
/// [`Periodicity::detected`] for the verdict.
pub fn periodicity(points: &[Point], metric: Metric, cadence: Cadence, utc_offset_secs: i32) -> Option<Periodicity> {
    cycle::periodicity(&Series::new(points), metric, cadence, utc_offset_secs)
}

/// Finds spikes of `points` that recur in the same hour of the day or minute of the hour.
pub fn recurring_spikes(points: &[Point], metric: Metric, utc_offset_secs: i32) -> Vec<RecurringSpike> {
    spike::recurring_spikes(&Series::new(points), metric, utc_offset_secs)
}

/// The pattern analysis over the servers in scope.
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let off = ctx.opts.utc_offset_secs;
    let mut findings = Vec::new();
    for server in fleet.focus(ctx) {
        for (&metric, series) in server.series.iter().filter(|(m, _)| ctx.wants(**m)) {
            for cadence in [Cadence::Daily, Cadence::Hourly] {
                if let Some(p) = cycle::periodicity(series, metric, cadence, off).filter(|p| p.detected) {
                    findings.push(cycle_finding(server.id, server.label(), p, ctx));
                }
            }
            for s in spike::recurring_spikes(series, metric, off) {
                findings.push(spike_finding(server.id, server.label(), s, ctx));
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

/// A place in the period as a clock reading: `14:00` in a day; `:05` (`05분`) in an hour.
fn clock(cadence: Cadence, offset_secs: i64, lang: Lang) -> String {
    match (cadence, lang) {
        (Cadence::Daily, _) => format!("{:02}:{:02}", offset_secs / 3_600, offset_secs % 3_600 / 60),
        (Cadence::Hourly, Lang::Ko) => format!("{:02}분", offset_secs / 60),
        (Cadence::Hourly, Lang::En) => format!(":{:02}", offset_secs / 60),
    }
}

fn cycle_finding(id: &str, label: &str, p: Periodicity, ctx: &Ctx<'_>) -> Finding {
    let (lang, m) = (ctx.lang, p.metric);
    let zone = text::zone(ctx.opts.utc_offset_secs);
    let (peak, trough) = (clock(p.cadence, p.peak_offset_secs, lang), clock(p.cadence, p.trough_offset_secs, lang));
    let amp = match m.unit() {
        Unit::Percent => lang.pick(format!("{:.1}%p", p.amplitude), format!("{:.1} points", p.amplitude)),
        _ => text::value(m, p.amplitude),
    };
    let (kind, title, description, recommendation) = match p.cadence {
        Cadence::Daily => (
            FindingKind::DailyCycle,
            lang.pick(format!("{label}: {} 일간 주기", metric_name(m, lang)), format!("Daily cycle in {} on {label}", metric_name(m, lang))),
            lang.pick(
                format!(
                    "{} 값이 매일 같은 모양으로 반복됩니다 (24시간 자기상관 {:.2}, {:.0}일치). {peak}경 가장 높고 {trough}경 가장 낮으며, 차이는 {amp}입니다 ({zone}).",
                    metric_name(m, lang), p.strength, p.cycles
                ),
                format!(
                    "{} repeats every day (autocorrelation {:.2} at 24 hours over {:.0} days): highest around {peak}, lowest around {trough}, {amp} apart ({zone}).",
                    metric_title(m, lang), p.strength, p.cycles
                ),
            ),
            lang.pick(
                format!("배치 작업과 점검은 {trough} 무렵으로 잡고, 알림 임계치는 {peak}의 일간 최고치를 고려해 정하세요."),
                format!("Schedule batch jobs and maintenance near {trough}, and set alert thresholds with the {peak} peak in mind."),
            ),
        ),
        Cadence::Hourly => (
            FindingKind::HourlyCycle,
            lang.pick(format!("{label}: {} 시간 주기", metric_name(m, lang)), format!("Hourly cycle in {} on {label}", metric_name(m, lang))),
            lang.pick(
                format!(
                    "{} 값이 매시간 반복됩니다 (1시간 자기상관 {:.2}, {:.0}시간치). 매시 {peak} 무렵 가장 높고, 차이는 {amp}입니다.",
                    metric_name(m, lang), p.strength, p.cycles
                ),
                format!(
                    "{} repeats every hour (autocorrelation {:.2} at one hour over {:.0} hours), highest around {peak} past each hour, {amp} above its low.",
                    metric_title(m, lang), p.strength, p.cycles
                ),
            ),
            lang.pick(
                "매시간 실행되는 작업(cron, 캐시 갱신, 수집기)을 확인하고, 여러 작업이 같은 분에 몰리면 분산하세요.".to_string(),
                "Something runs every hour (cron, a cache refresh, a collector): check scheduled jobs and spread them out if they collide.".to_string(),
            ),
        ),
    };
    Finding {
        kind,
        severity: Severity::Info,
        server_id: Some(id.to_string()),
        server_name: Some(label.to_string()),
        metric: Some(m),
        title,
        description,
        recommendation,
        score: Some(p.strength),
        evidence: Evidence::Cycle(p),
    }
}

fn spike_finding(id: &str, label: &str, s: RecurringSpike, ctx: &Ctx<'_>) -> Finding {
    let (lang, m) = (ctx.lang, s.metric);
    let slot_len = s.cadence.slot_secs();
    let slots: Vec<String> = s.slots.iter().map(|x| clock(s.cadence, i64::from(*x) * slot_len, lang)).collect();
    let slots = slots.join(", ");
    let zone = text::zone(ctx.opts.utc_offset_secs);
    let (typical, baseline) = (text::value(m, s.typical_value), text::value(m, s.baseline));
    let (when_ko, when_en, unit_ko, unit_en) = match s.cadence {
        Cadence::Daily => (format!("매일 {slots}({zone})"), format!("daily at {slots} {zone}"), "일", "days"),
        Cadence::Hourly => (format!("매시 {slots}"), format!("every hour at {slots}"), "시간", "hours"),
    };
    let saturated = m.unit() == Unit::Percent && s.typical_value >= 90.0;
    let title = lang.pick(
        format!("{label}: {} 반복 급증 ({when_ko})", metric_name(m, lang)),
        format!("Recurring {} spikes on {label}, {when_en}", metric_name(m, lang)),
    );
    let description = lang.pick(
        format!(
            "{when_ko}에 {} 값이 급증합니다: {}{unit_ko} 중 {}{unit_ko}, 보통 {typical} (평소 {baseline}). 마지막 급증은 {}입니다.",
            metric_name(m, lang), s.periods, s.occurrences, ctx.time(s.last_at)
        ),
        format!(
            "{} spikes {when_en}: on {} of {} {unit_en}, typically to {typical} against a usual {baseline}. The latest was at {}.",
            metric_title(m, lang), s.occurrences, s.periods, ctx.time(s.last_at)
        ),
    );
    let recommendation = lang.pick(
        "그 시각에 예약된 작업(cron, 백업, 리포트)을 찾아 시간을 분산하거나 한가한 시간대로 옮기세요.",
        "Look for a job scheduled at that time (cron, backup, report) and spread it out or move it off-peak.",
    );
    Finding {
        kind: FindingKind::RecurringSpike,
        severity: if saturated { Severity::Warning } else { Severity::Info },
        server_id: Some(id.to_string()),
        server_name: Some(label.to_string()),
        metric: Some(m),
        title,
        description,
        recommendation: recommendation.to_string(),
        score: Some(s.hit_rate),
        evidence: Evidence::Spike(s),
    }
}

#[cfg(test)]
mod tests;
