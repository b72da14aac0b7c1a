//! Anomalies: readings outside a series' usual band, by two complementary tests.
//!
//! The robust z-score (distance from the median in units of 1.4826·MAD) catches readings that are
//! extreme for the series as a whole; the EWMA residual (distance from an exponentially weighted
//! forecast, scaled by the residuals' own MAD) catches readings that are extreme for their moment,
//! such as a spike on a rising trend. Consecutive outlying readings form one episode, reported by
//! its most extreme reading.
//!
//! The threshold grows with the series length (a Bonferroni bound), because at a fixed |z| ≥ 3.5 a
//! 1,440-point day of pure Gaussian noise would still raise about one false alarm in every two
//! series; with the bound it is about one in a thousand.

use serde::Serialize;

use crate::fleet::{Ctx, Fleet, Outcome, count_points};
use crate::input::Point;
use crate::lang::Lang;
use crate::metric::{Metric, Unit};
use crate::report::{Evidence, Finding, FindingKind, Severity, sort_findings};
use crate::series::Series;
use crate::stats::{normal_quantile, robust};
use crate::text::{self, metric_name};

/// The fewest points a series needs: below this the median and MAD are too unsteady to call
/// anything unusual.
pub const MIN_POINTS: usize = 30;
/// The EWMA weight of the newest reading: about the last seven readings matter.
const EWMA_ALPHA: f64 = 0.3;
/// Readings before the EWMA has settled are judged by the robust z-score only.
const WARMUP: usize = 10;
/// The most consecutive outlying readings the forecast ignores before taking them as the new level.
const MAX_FROZEN: usize = 30;
/// The chance of any false alarm in a series of pure noise that the threshold allows.
const FAMILY_ALPHA: f64 = 0.001;
/// The most episodes reported per series (the strongest).
const MAX_EPISODES: usize = 5;
/// Readings of one episode may be separated by at most this many normal readings.
const EPISODE_GAP: usize = 2;

/// Which test flagged the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Method {
    /// Distance from the series median in MAD units.
    RobustZ,
    /// Distance from the EWMA forecast in residual-MAD units.
    Ewma,
}

/// One anomalous episode, described by its most extreme reading. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    /// The metric.
    pub metric: Metric,
    /// When the most extreme reading was taken.
    pub at: i64,
    /// The most extreme reading.
    pub value: f64,
    /// The lower end of the usual band at that time.
    pub expected_lower: f64,
    /// The upper end of the usual band at that time.
    pub expected_upper: f64,
    /// The signed score of the most extreme reading (positive: above the band).
    pub score: f64,
    /// The |score| needed to be flagged, for this series' length.
    pub threshold: f64,
    /// The test that gave the score.
    pub method: Method,
    /// The first flagged reading of the episode.
    pub start: i64,
    /// The last flagged reading of the episode.
    pub end: i64,
    /// How many readings were flagged in the episode.
    pub points: usize,
}

/// The |z| a series of `n` points needs: at least `min_z`, and enough that pure Gaussian noise raises
/// a false alarm in at most one series in a thousand (two tests per reading).
pub fn threshold(n: usize, min_z: f64) -> f64 {
    let tests = (2 * n.max(1)) as f64;
    normal_quantile(1.0 - FAMILY_ALPHA / (2.0 * tests)).max(min_z)
}

/// Finds anomalous episodes in `points` of `metric`, at least `min_z` from usual (3.5 is the usual
/// choice). Returns them oldest first; empty for fewer than [`MIN_POINTS`] usable points.
pub fn detect(points: &[Point], metric: Metric, min_z: f64) -> Vec<Anomaly> {
    detect_series(&Series::new(points), metric, min_z)
}

/// A flagged reading.
#[derive(Debug, Clone, Copy)]
struct Hit {
    index: usize,
    z: f64,
    method: Method,
    lower: f64,
    upper: f64,
}

/// [`detect`] on a cleaned series.
pub(crate) fn detect_series(series: &Series, metric: Metric, min_z: f64) -> Vec<Anomaly> {
    let values = series.values();
    if values.len() < MIN_POINTS {
        return Vec::new();
    }
    let thr = threshold(values.len(), min_z);
    let floor = metric.noise_floor();
    let Some(global) = robust(&values, floor) else { return Vec::new() };

    // First pass: plain EWMA residuals, to learn their usual size (and bias: on a trend the
    // forecast lags by a steady amount, which is not an anomaly).
    let mut forecast = values[0];
    let residuals: Vec<f64> = values[1..]
        .iter()
        .map(|&x| {
            let r = x - forecast;
            forecast += EWMA_ALPHA * r;
            r
        })
        .collect();
    let Some(resid) = robust(&residuals, floor) else { return Vec::new() };

    // Second pass: test every reading. An outlying reading does not move the forecast, so the
    // readings after a spike are judged against the level before it (a forecast dragged up by the
    // spike would make them look low). A run longer than MAX_FROZEN is a new level, adopted.
    let mut hits = Vec::new();
    let mut forecast = values[0];
    let mut frozen = 0usize;
    for (index, &x) in values.iter().enumerate() {
        let mut hit = None;
        let zg = global.z(x);
        if zg.abs() >= thr {
            let (lower, upper) = (global.center - thr * global.scale, global.center + thr * global.scale);
            hit = Some(Hit { index, z: zg, method: Method::RobustZ, lower, upper });
        }
        if index > 0 {
            let expected = forecast + resid.center;
            let ze = (x - expected) / resid.scale;
            let outlying = ze.abs() >= thr;
            if index >= WARMUP && outlying && hit.is_none_or(|h| ze.abs() > h.z.abs()) {
                let (lower, upper) = (expected - thr * resid.scale, expected + thr * resid.scale);
                hit = Some(Hit { index, z: ze, method: Method::Ewma, lower, upper });
            }
            if !outlying {
                forecast += EWMA_ALPHA * (x - forecast);
                frozen = 0;
            } else if frozen >= MAX_FROZEN {
                forecast = x;
                frozen = 0;
            } else {
                frozen += 1;
            }
        }
        hits.extend(hit);
    }
    episodes(&hits, series.points(), metric, thr)
}

/// Groups hits into episodes and keeps the strongest [`MAX_EPISODES`], oldest first.
fn episodes(hits: &[Hit], points: &[Point], metric: Metric, thr: f64) -> Vec<Anomaly> {
    let mut groups: Vec<Vec<Hit>> = Vec::new();
    for &hit in hits {
        match groups.last_mut() {
            Some(g) if g.last().is_some_and(|h| hit.index - h.index <= EPISODE_GAP + 1) => g.push(hit),
            _ => groups.push(vec![hit]),
        }
    }
    let mut out: Vec<Anomaly> = groups
        .iter()
        .filter_map(|g| {
            let peak = g.iter().copied().max_by(|a, b| a.z.abs().total_cmp(&b.z.abs()))?;
            Some(Anomaly {
                metric,
                at: points[peak.index].ts,
                value: text::round(points[peak.index].value, 3),
                expected_lower: text::round(peak.lower, 3),
                expected_upper: text::round(peak.upper, 3),
                score: text::round(peak.z, 2),
                threshold: text::round(thr, 2),
                method: peak.method,
                start: points[g.first()?.index].ts,
                end: points[g.last()?.index].ts,
                points: g.len(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
    out.truncate(MAX_EPISODES);
    out.sort_by_key(|a| a.at);
    out
}

/// The anomaly analysis over the servers in scope.
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let mut findings = Vec::new();
    for server in fleet.focus(ctx) {
        for (&metric, series) in server.series.iter().filter(|(m, _)| ctx.wants(**m)) {
            for a in detect_series(series, metric, ctx.opts.anomaly_z) {
                findings.push(finding(server.id, server.label(), a, ctx));
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

/// Writes one anomaly up as a finding.
fn finding(id: &str, label: &str, a: Anomaly, ctx: &Ctx<'_>) -> Finding {
    let lang = ctx.lang;
    let m = a.metric;
    let (value, lower, upper) =
        (text::value(m, a.value), text::value(m, a.expected_lower), text::value(m, a.expected_upper));
    let above = a.score > 0.0;
    let saturated = m.unit() == Unit::Percent && a.value >= 90.0 && above;
    let severity = if saturated || a.score.abs() >= 2.0 * a.threshold { Severity::Critical } else { Severity::Warning };
    let method = match (a.method, lang) {
        (Method::RobustZ, Lang::Ko) => "강건 z 점수",
        (Method::RobustZ, Lang::En) => "robust z-score",
        (Method::Ewma, Lang::Ko) => "EWMA 잔차 점수",
        (Method::Ewma, Lang::En) => "EWMA residual score",
    };
    let when = ctx.time(a.at);
    let what = match (lang, above) {
        (Lang::Ko, true) => {
            format!("{when}에 {} 값이 {value}에 달해 평소 범위({lower}~{upper})를 넘었습니다", metric_name(m, lang))
        }
        (Lang::Ko, false) => {
            format!(
                "{when}에 {} 값이 {value}까지 떨어져 평소 범위({lower}~{upper})를 밑돌았습니다",
                metric_name(m, lang)
            )
        }
        (Lang::En, true) => {
            format!("At {when}, {} reached {value}, above the usual band of {lower} to {upper}", metric_name(m, lang))
        }
        (Lang::En, false) => {
            format!("At {when}, {} fell to {value}, below the usual band of {lower} to {upper}", metric_name(m, lang))
        }
    };
    let episode = if a.points > 1 {
        lang.pick(
            format!(
                " 이상 구간은 {}부터 {}까지이며 측정값 {}개가 벗어났습니다.",
                ctx.time(a.start),
                ctx.time(a.end),
                a.points
            ),
            format!(" The episode ran from {} to {} ({} readings).", ctx.time(a.start), ctx.time(a.end), a.points),
        )
    } else {
        String::new()
    };
    let description = format!("{what} ({method} {:+.1}).{episode}", a.score);
    let title = lang.pick(
        format!("{label}: {} {}", metric_name(m, lang), if above { "급증" } else { "급감" }),
        format!("{} {} on {label}", if above { "Unusually high" } else { "Unusually low" }, metric_name(m, lang)),
    );
    Finding {
        kind: FindingKind::Anomaly,
        severity,
        server_id: Some(id.to_string()),
        server_name: Some(label.to_string()),
        metric: Some(m),
        title,
        description,
        recommendation: recommendation(m, above, ctx.lang),
        score: Some(a.score),
        evidence: Evidence::Anomaly(a),
    }
}

/// What to check, by metric and direction.
fn recommendation(metric: Metric, above: bool, lang: Lang) -> String {
    let (ko, en) = match (metric, above) {
        (_, false) => (
            "값이 갑자기 떨어졌습니다. 서비스가 멈추지 않았는지, 수집이 정상인지 확인하세요.",
            "A sudden drop: check that the service is still running and that collection works.",
        ),
        (Metric::Cpu, true) => (
            "그 시각의 상위 프로세스와 배포·배치 작업 기록을 확인하세요. 반복되면 CPU 알림 규칙을 추가하세요.",
            "Check the top processes and any deploy or batch job at that time; if it recurs, add a CPU alert rule.",
        ),
        (Metric::Memory, true) => (
            "메모리가 늘어난 프로세스를 찾고 누수 가능성을 확인하세요.",
            "Find the process that grew and check for a memory leak.",
        ),
        (Metric::Disk, true) => (
            "그 시각에 기록된 파일(로그, 덤프, 백업)을 찾아 정리하세요.",
            "Find what was written at that time (logs, dumps, backups) and clean it up.",
        ),
        (Metric::Load1, true) => (
            "실행 대기 작업이 몰렸습니다. CPU 사용률과 I/O 대기를 함께 확인하세요.",
            "Tasks queued up: check CPU use and I/O wait at the same time.",
        ),
        (Metric::NetworkIn | Metric::NetworkOut, true) => (
            "트래픽의 출처(클라이언트, 백업, 복제)를 확인하고, 예상하지 못한 트래픽이면 보안 점검을 고려하세요.",
            "Check where the traffic came from (clients, backups, replication); if unexpected, consider a security review.",
        ),
    };
    lang.pick(ko, en).to_string()
}

#[cfg(test)]
mod tests;
