//! Prediction: a robust trend line per series and when it reaches a limit (disk 90% and 100%,
//! memory 95%, CPU 90%), or why it does not within the horizon.
//!
//! The slope is Theil-Sen (median of pairwise slopes), so a spike or a one-off cleanup does not
//! bend the line the way it bends least squares; R² says how well the line explains the series,
//! and a noisy trend (R² < 0.5) is not reported as a prediction.

use serde::Serialize;

use crate::fleet::{Ctx, Fleet, Outcome, count_points};
use crate::input::Point;
use crate::lang::Lang;
use crate::metric::{Metric, Unit};
use crate::report::{Evidence, Finding, FindingKind, Severity};
use crate::series::{Series, bucket_means};
use crate::stats::{median, r_squared, theil_sen};
use crate::text::{self, metric_name, metric_title};

/// The fewest points a trend is fitted to.
pub const MIN_POINTS: usize = 10;
/// The shortest history a trend is fitted to: minutes of data say nothing about days.
pub const MIN_SPAN_SECS: i64 = 600;
/// Theil-Sen is quadratic, so the slope is fitted to at most this many (averaged) points.
const FIT_POINTS: usize = 256;
/// The least R² a trend needs before its ETA is reported as a finding.
const MIN_R2: f64 = 0.5;
/// A trend that moves less than this share of the threshold over the horizon is flat.
const FLAT_SHARE: f64 = 0.01;
const SECS_PER_DAY: f64 = 86_400.0;

/// The fitted trend of a series. Times are unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    /// Change per day, in the metric's unit.
    pub slope_per_day: f64,
    /// The line's value at `now`.
    pub level_now: f64,
    /// The current level: the median of the last five readings, so one noisy reading does not
    /// decide whether a limit is already reached.
    pub current: f64,
    /// Share of the variance the line explains, 0..=1.
    pub r2: f64,
    /// Points fitted.
    pub points: usize,
    /// First reading.
    pub from: i64,
    /// Last reading.
    pub to: i64,
}

/// Why a limit is not reached within the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Steady {
    /// The trend barely moves.
    Flat,
    /// The trend goes down.
    Decreasing,
    /// The trend goes up, but too slowly to get there within the horizon.
    BeyondHorizon,
}

/// What the trend says about a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Outlook {
    /// Too few points or too short a history to fit a trend, or a history that ended too long
    /// before `now` to extrapolate from.
    InsufficientData,
    /// The current level (or the trend at `now`) is already at or above the limit.
    AlreadyReached,
    /// The trend reaches the limit at `eta` (unix seconds), `in_secs` after `now`.
    Reaches {
        /// Unix seconds.
        eta: i64,
        /// Seconds from `now`.
        in_secs: i64,
    },
    /// No exhaustion within the horizon.
    NoExhaustion {
        /// Why not.
        reason: Steady,
    },
}

/// A trend and what it means for one limit: what [`forecast`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    /// The limit.
    pub threshold: f64,
    /// How far ahead was looked, seconds.
    pub horizon_secs: i64,
    /// The verdict.
    #[serde(flatten)]
    pub outlook: Outlook,
    /// The fitted trend, when there was enough data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
}

impl Forecast {
    /// When the limit is reached, if within the horizon (unix seconds).
    pub fn eta(&self) -> Option<i64> {
        match self.outlook {
            Outlook::Reaches { eta, .. } => Some(eta),
            _ => None,
        }
    }
}

/// Fits a trend to `points` and says when it reaches `threshold`, looking `horizon_secs` past
/// `now` (unix seconds). For the local chat engine's "when will the disk be full?".
pub fn forecast(points: &[Point], threshold: f64, now: i64, horizon_secs: i64) -> Forecast {
    let series = Series::new(points);
    let trend = fit(&series, now);
    Forecast { threshold, horizon_secs, outlook: outlook(trend.as_ref(), threshold, now, horizon_secs), trend }
}

/// The Theil-Sen trend of a cleaned series, evaluated at `now`.
pub(crate) fn fit(series: &Series, now: i64) -> Option<Trend> {
    let (from, to) = series.bounds()?;
    if series.len() < MIN_POINTS || to - from < MIN_SPAN_SECS {
        return None;
    }
    // Reaching `now` must not take a longer leap than the history itself (or a day): a week-old
    // hour of data says nothing about today. A `now` before the data is a caller's mistake.
    if now < from || now.saturating_sub(to) > (to - from).max(SECS_PER_DAY as i64) {
        return None;
    }
    // Seconds from the first point keep x small, so the slope and intercept lose no precision.
    let xy = |ps: &[Point]| -> (Vec<f64>, Vec<f64>) { ps.iter().map(|p| ((p.ts - from) as f64, p.value)).unzip() };
    let (xs, ys) = xy(series.points());
    let (fx, fy) = xy(&bucket_means(series.points(), FIT_POINTS));
    let line = theil_sen(&fx, &fy, (&xs, &ys))?;
    Some(Trend {
        slope_per_day: line.slope * SECS_PER_DAY,
        level_now: line.at(now.saturating_sub(from) as f64),
        current: median(&ys[ys.len().saturating_sub(5)..])?,
        r2: r_squared(&xs, &ys, &line),
        points: series.len(),
        from,
        to,
    })
}

/// What `trend` says about `threshold`.
pub(crate) fn outlook(trend: Option<&Trend>, threshold: f64, now: i64, horizon_secs: i64) -> Outlook {
    let Some(t) = trend else { return Outlook::InsufficientData };
    if t.current >= threshold || t.level_now >= threshold {
        return Outlook::AlreadyReached;
    }
    let slope = t.slope_per_day / SECS_PER_DAY;
    if slope > 0.0 {
        let secs = (threshold - t.level_now) / slope;
        if secs <= horizon_secs as f64 {
            let in_secs = secs.ceil() as i64;
            return Outlook::Reaches { eta: now.saturating_add(in_secs), in_secs };
        }
    }
    let change = slope.abs() * (horizon_secs as f64).max(SECS_PER_DAY);
    let reason = if change < FLAT_SHARE * threshold.abs().max(1.0) {
        Steady::Flat
    } else if slope < 0.0 {
        Steady::Decreasing
    } else {
        Steady::BeyondHorizon
    };
    Outlook::NoExhaustion { reason }
}

/// The limits watched per metric, lowest first. Network and load have no fixed ceiling to reach.
pub fn limits(metric: Metric) -> &'static [f64] {
    match metric {
        Metric::Disk => &[90.0, 100.0],
        Metric::Memory => &[95.0],
        Metric::Cpu => &[90.0],
        Metric::Load1 | Metric::NetworkIn | Metric::NetworkOut => &[],
    }
}

/// The numbers behind an exhaustion finding: the trend and the outlook for each limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExhaustionEvidence {
    /// The metric.
    pub metric: Metric,
    /// The limit the finding is about.
    pub threshold: f64,
    /// How far ahead was looked, seconds.
    pub horizon_secs: i64,
    /// The fitted trend.
    pub trend: Trend,
    /// Every watched limit of the metric with its outlook.
    pub limits: Vec<Forecast>,
}

/// The prediction analysis over the servers in scope.
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let mut findings: Vec<(i64, Finding)> = Vec::new();
    let mut noisy = 0;
    for server in fleet.focus(ctx) {
        for (&metric, series) in server.series.iter().filter(|(m, _)| ctx.wants(**m) && !limits(**m).is_empty()) {
            let Some(trend) = fit(series, ctx.now) else { continue };
            let horizon = ctx.opts.horizon_secs;
            let forecasts: Vec<Forecast> = limits(metric)
                .iter()
                .map(|&threshold| Forecast {
                    threshold,
                    horizon_secs: horizon,
                    outlook: outlook(Some(&trend), threshold, ctx.now, horizon),
                    trend: None, // held once in the evidence
                })
                .collect();
            let next = forecasts.iter().find(|f| f.eta().is_some());
            let reached = forecasts.iter().rev().find(|f| f.outlook == Outlook::AlreadyReached);
            let chosen = match (next, reached) {
                (Some(f), _) if trend.r2 >= MIN_R2 => f,
                (Some(_), None) => {
                    noisy += 1;
                    continue;
                }
                (_, Some(f)) => f,
                (None, None) => continue,
            };
            let evidence = ExhaustionEvidence {
                metric,
                threshold: chosen.threshold,
                horizon_secs: horizon,
                trend: rounded(trend),
                limits: forecasts.clone(),
            };
            let finding = finding(server.id, server.label(), evidence, ctx);
            findings.push((chosen.eta().unwrap_or(i64::MIN), finding));
        }
    }
    // Most severe first, then the soonest.
    findings.sort_by(|(a_eta, a), (b_eta, b)| b.severity.cmp(&a.severity).then(a_eta.cmp(b_eta)));
    let mut notes = Vec::new();
    if noisy > 0 {
        notes.push(ctx.lang.pick(
            format!("상승 추세가 있지만 변동이 커서(R² < {MIN_R2}) 예측하지 않은 계열이 {noisy}개 있습니다."),
            format!("{noisy} series rise but too noisily (R² < {MIN_R2}) to predict from."),
        ));
    }
    Outcome {
        findings: findings.into_iter().map(|(_, f)| f).collect(),
        notes,
        servers: fleet.focus(ctx).count(),
        points: count_points(fleet.focus(ctx), ctx),
        ..Outcome::default()
    }
}

fn rounded(t: Trend) -> Trend {
    Trend {
        slope_per_day: text::round(t.slope_per_day, 4),
        level_now: text::round(t.level_now, 3),
        current: text::round(t.current, 3),
        r2: text::round(t.r2, 3),
        ..t
    }
}

/// A change per day in words: `2.00 points a day`, `하루 2.00%p`.
fn per_day(metric: Metric, slope: f64, lang: Lang) -> String {
    match (metric.unit(), lang) {
        (Unit::Percent, Lang::Ko) => format!("하루 {:.2}%p", slope.abs()),
        (Unit::Percent, Lang::En) => format!("{:.2} points a day", slope.abs()),
        (_, Lang::Ko) => format!("하루 {}", text::value(metric, slope.abs())),
        (_, Lang::En) => format!("{} a day", text::value(metric, slope.abs())),
    }
}

/// Writes an exhaustion up as a finding.
fn finding(id: &str, label: &str, ev: ExhaustionEvidence, ctx: &Ctx<'_>) -> Finding {
    let (lang, m, t) = (ctx.lang, ev.metric, ev.trend);
    let name = metric_name(m, lang);
    let thr = ev.threshold;
    let chosen = ev.limits.iter().find(|f| f.threshold == thr).map_or(Outlook::AlreadyReached, |f| f.outlook);
    let basis = lang.pick(
        format!(
            "{name} 값은 현재 {}이며 {} {}하고 있습니다 (최근 {} Theil-Sen 추세, R² {:.2}).",
            text::value(m, t.current),
            per_day(m, t.slope_per_day, lang),
            if t.slope_per_day >= 0.0 { "증가" } else { "감소" },
            text::duration(t.to - t.from, lang),
            t.r2
        ),
        format!(
            "{} is at {} and {} by {} (Theil-Sen over the last {}, R² {:.2}).",
            metric_title(m, lang),
            text::value(m, t.current),
            if t.slope_per_day >= 0.0 { "rising" } else { "falling" },
            per_day(m, t.slope_per_day, lang),
            text::duration(t.to - t.from, lang),
            t.r2
        ),
    );
    let etas: Vec<String> = ev
        .limits
        .iter()
        .filter_map(|f| match f.outlook {
            Outlook::Reaches { eta, in_secs } => Some(lang.pick(
                format!("{}경({} 후) {:.0}%", ctx.time(eta), text::duration(in_secs, lang), f.threshold),
                format!("{:.0}% around {} (in {})", f.threshold, ctx.time(eta), text::duration(in_secs, lang)),
            )),
            _ => None,
        })
        .collect();
    let (severity, title, outlook_text) = match chosen {
        Outlook::Reaches { in_secs, .. } => (
            if in_secs <= 2 * 86_400 {
                Severity::Critical
            } else if in_secs <= 7 * 86_400 {
                Severity::Warning
            } else {
                Severity::Info
            },
            lang.pick(
                format!("{label}: {name} {thr:.0}% 도달 예상 ({} 후)", text::duration(in_secs, lang)),
                format!("{} on {label} reaches {thr:.0}% in {}", metric_title(m, lang), text::duration(in_secs, lang)),
            ),
            lang.pick(
                format!(" 이 추세라면 {}에 도달합니다.", etas.join(", ")),
                format!(" At this rate it reaches {}.", etas.join(", then ")),
            ),
        ),
        _ => (
            Severity::Critical,
            lang.pick(
                format!("{label}: {name} {thr:.0}% 이상"),
                format!("{} on {label} is at {thr:.0}% or more", metric_title(m, lang)),
            ),
            lang.pick(format!(" 이미 {thr:.0}%를 넘었습니다."), format!(" It has already passed {thr:.0}%.")),
        ),
    };
    let recommendation = match m {
        Metric::Disk => lang.pick(
            "오래된 로그·백업을 정리하거나 보존 기간을 줄이고, 필요하면 디스크를 늘리세요.",
            "Clean up old logs and backups or shorten retention, and grow the disk if needed.",
        ),
        Metric::Memory => lang.pick(
            "메모리가 계속 늘어나는 프로세스(누수 가능성)를 찾고, 재시작 일정이나 메모리 증설을 검토하세요.",
            "Find the process whose memory keeps growing (a possible leak); plan a restart or more memory.",
        ),
        _ => lang.pick(
            "부하가 늘어나는 원인을 확인하고 스케일 아웃이나 CPU 증설을 계획하세요.",
            "Find what drives the growing load and plan to scale out or add CPU.",
        ),
    };
    Finding {
        kind: FindingKind::Exhaustion,
        severity,
        server_id: Some(id.to_string()),
        server_name: Some(label.to_string()),
        metric: Some(m),
        title,
        description: format!("{basis}{outlook_text}"),
        recommendation: recommendation.to_string(),
        score: Some(t.r2),
        evidence: Evidence::Exhaustion(ev),
    }
}

#[cfg(test)]
mod tests;
