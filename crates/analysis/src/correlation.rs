//! Correlation: pairs of series that move together, within a server (CPU and load) and across
//! servers (web CPU and database CPU), with the lag at which they match best.
//!
//! Both series are averaged onto a common grid over the time they overlap; Pearson's r is computed
//! at every lag within ±N steps and the best kept, with Spearman's ρ (on ranks, robust to a shared
//! spike) at that lag. Smooth metrics are strongly autocorrelated, which makes even unrelated series
//! look correlated (two random walks often reach |r| > 0.8), so significance uses the effective
//! sample size n·(1−ρa·ρb)/(1+ρa·ρb) of Bretherton et al. (1999), corrected for the lags searched.

use serde::Serialize;

use crate::fleet::{Ctx, Fleet, Outcome, Server, count_points};
use crate::grid::resample;
use crate::input::Point;
use crate::lang::Lang;
use crate::metric::Metric;
use crate::report::{Evidence, Finding, FindingKind, Severity, sort_findings};
use crate::series::Series;
use crate::stats::{CoMoments, autocorrelation, normal_quantile, ranks};
use crate::text::{self, metric_name};

/// The fewest grid cells two series must share, at the best lag, to be compared.
pub const MIN_OVERLAP: usize = 30;
/// The most grid cells a pair is compared on: the work per lag.
const MAX_GRID: usize = 1_440;
/// The most cross-server pairs examined per report, so a large fleet stays cheap (each pair costs
/// one resample and (2N+1) passes over the grid).
pub const MAX_CROSS_PAIRS: usize = 300;
/// The chance that a pair of unrelated series passes the significance test.
const FAMILY_ALPHA: f64 = 0.001;
/// How far Spearman's ρ may fall short of the threshold when Pearson's r meets it: a gap larger
/// than this means one shared spike carries the correlation.
const SPEARMAN_SLACK: f64 = 0.2;

/// How two series relate at their best lag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Correlation {
    /// Pearson's r at the best lag.
    pub pearson: f64,
    /// Spearman's ρ at the best lag (ranks taken over each whole series).
    pub spearman: f64,
    /// Grid steps the second series trails the first (negative: it leads).
    pub lag_steps: i64,
    /// The same in seconds.
    pub lag_secs: i64,
    /// The grid step, seconds.
    pub step_secs: i64,
    /// Grid cells compared at the best lag.
    pub overlap: usize,
    /// The overlap discounted for autocorrelation.
    pub effective_n: f64,
    /// Whether r is significant at the effective sample size, allowing for the lags searched.
    pub significant: bool,
}

impl Correlation {
    /// Strong and trustworthy: significant, |r| or |ρ| at least `min_r`, the other not far behind,
    /// and both of the same sign.
    pub fn is_strong(&self, min_r: f64) -> bool {
        let (p, s) = (self.pearson.abs(), self.spearman.abs());
        self.significant
            && self.pearson * self.spearman > 0.0
            && p.max(s) >= min_r
            && p.min(s) >= min_r - SPEARMAN_SLACK
    }
}

/// Correlates `b` against `a`, searching lags up to ±`max_lag` grid steps. `None` when they overlap
/// too little or either does not vary.
pub fn correlate(a: &[Point], b: &[Point], max_lag: usize) -> Option<Correlation> {
    correlate_series(&Series::new(a), &Series::new(b), max_lag)
}

/// [`correlate`] on cleaned series.
pub(crate) fn correlate_series(a: &Series, b: &Series, max_lag: usize) -> Option<Correlation> {
    let ((a0, a1), (b0, b1)) = (a.bounds()?, b.bounds()?);
    let (start, end) = (a0.max(b0), a1.min(b1));
    if end <= start {
        return None;
    }
    // The grid is as fine as the coarser series allows, and no finer than MAX_GRID cells.
    let span = end - start;
    let step =
        a.median_interval()?.max(b.median_interval()?).max((span + MAX_GRID as i64 - 1) / MAX_GRID as i64).max(1);
    let len = usize::try_from(span / step + 1).ok()?;
    let (va, vb) = (resample(a.points(), start, step, len), resample(b.points(), start, step, len));
    let max_lag = max_lag.min(len / 4) as i64;

    let at = |xs: &[Option<f64>], ys: &[Option<f64>], k: i64| {
        let mut m = CoMoments::default();
        for (i, x) in xs.iter().enumerate() {
            let j = i as i64 + k;
            if let (Some(x), Some(Some(y))) = (x, usize::try_from(j).ok().and_then(|j| ys.get(j))) {
                m.push(*x, *y);
            }
        }
        m
    };
    // Lags in order of size (0, 1, -1, 2, ...), so among equal fits the smallest lag wins.
    let mut best: Option<(i64, f64, usize)> = None;
    for k in (0..=2 * max_lag).map(|i| if i % 2 == 1 { i / 2 + 1 } else { -(i / 2) }) {
        let m = at(&va, &vb, k);
        let Some(r) = m.pearson().filter(|_| m.count() >= MIN_OVERLAP) else { continue };
        if best.is_none_or(|(_, b, _)| r.abs() > b.abs() + 1e-12) {
            best = Some((k, r, m.count()));
        }
    }
    let (lag, pearson, overlap) = best?;
    let spearman = at(&ranked(&va), &ranked(&vb), lag).pearson()?;

    let rho = |v: &[Option<f64>]| autocorrelation(v, 1).map_or(0.0, |(r, _)| r);
    let persistence = (rho(&va) * rho(&vb)).clamp(-0.99, 0.99);
    let effective_n = (overlap as f64 * (1.0 - persistence) / (1.0 + persistence)).min(overlap as f64);
    let tests = (2 * max_lag + 1) as f64;
    let z_needed = normal_quantile(1.0 - FAMILY_ALPHA / (2.0 * tests));
    let significant =
        effective_n > 4.0 && pearson.abs().min(0.999_999).atanh() * (effective_n - 3.0).sqrt() >= z_needed;
    Some(Correlation {
        pearson: text::round(pearson, 3),
        spearman: text::round(spearman, 3),
        lag_steps: lag,
        lag_secs: lag * step,
        step_secs: step,
        overlap,
        effective_n: text::round(effective_n, 1),
        significant,
    })
}

/// The present cells replaced by their ranks.
fn ranked(v: &[Option<f64>]) -> Vec<Option<f64>> {
    let present: Vec<f64> = v.iter().flatten().copied().collect();
    let mut r = ranks(&present).into_iter();
    v.iter().map(|x| x.and_then(|_| r.next())).collect()
}

/// One side of a pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesRef {
    /// The server id.
    pub server_id: String,
    /// The server's display name.
    pub server_name: String,
    /// The metric.
    pub metric: Metric,
}

/// The numbers behind a correlation finding: the two series and how they relate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairEvidence {
    /// The first series.
    pub a: SeriesRef,
    /// The second series (positive lags: it trails `a`).
    pub b: SeriesRef,
    /// How they relate.
    #[serde(flatten)]
    pub correlation: Correlation,
}

/// The correlation analysis: metric pairs within each server in scope, then same-metric pairs
/// across servers (those involving the focus server, when one is named).
pub(crate) fn analyze(fleet: &Fleet<'_>, ctx: &Ctx<'_>) -> Outcome {
    let (min_r, max_lag) = (ctx.opts.min_correlation, ctx.opts.max_lag_steps);
    let mut findings = Vec::new();
    let mut check = |a: (&Server<'_>, Metric), b: (&Server<'_>, Metric)| {
        let (Some(sa), Some(sb)) = (a.0.series(a.1), b.0.series(b.1)) else { return };
        if let Some(c) = correlate_series(sa, sb, max_lag).filter(|c| c.is_strong(min_r)) {
            findings.push(finding(side(a), side(b), c, ctx.lang));
        }
    };
    for server in fleet.focus(ctx) {
        for (i, &ma) in Metric::ALL.iter().enumerate() {
            for &mb in &Metric::ALL[i + 1..] {
                if ctx.wants(ma) || ctx.wants(mb) {
                    check((server, ma), (server, mb));
                }
            }
        }
    }
    let focused = ctx.opts.server_id.is_some();
    let mut pairs = 0usize;
    let mut skipped = 0usize;
    for metric in Metric::ALL.into_iter().filter(|m| ctx.wants(*m)) {
        for (i, a) in fleet.servers.iter().enumerate() {
            for (j, b) in fleet.servers.iter().enumerate() {
                let in_scope = |s: &Server<'_>| ctx.opts.server_id.as_deref().is_none_or(|id| id == s.id);
                // Each unordered pair once: the focus server first when there is one, else by index.
                let wanted = if focused { in_scope(a) && !in_scope(b) } else { i < j };
                if !wanted || a.series(metric).is_none() || b.series(metric).is_none() {
                    continue;
                }
                if pairs >= MAX_CROSS_PAIRS {
                    skipped += 1;
                    continue;
                }
                pairs += 1;
                check((a, metric), (b, metric));
            }
        }
    }
    sort_findings(&mut findings);
    let mut notes = Vec::new();
    if skipped > 0 {
        notes.push(ctx.lang.pick(
            format!("서버 간 비교는 {MAX_CROSS_PAIRS}쌍까지만 수행했습니다 ({skipped}쌍 생략)."),
            format!("Compared at most {MAX_CROSS_PAIRS} cross-server pairs ({skipped} skipped)."),
        ));
    }
    Outcome {
        findings,
        notes,
        servers: fleet.servers.len(),
        points: count_points(fleet.servers.iter(), ctx),
        ..Outcome::default()
    }
}

fn side((server, metric): (&Server<'_>, Metric)) -> SeriesRef {
    SeriesRef { server_id: server.id.to_string(), server_name: server.label().to_string(), metric }
}

/// Writes a strong pair up as a finding.
fn finding(a: SeriesRef, b: SeriesRef, c: Correlation, lang: Lang) -> Finding {
    let same_server = a.server_id == b.server_id;
    let name = |s: &SeriesRef| {
        if same_server {
            metric_name(s.metric, lang).to_string()
        } else {
            format!("{} {}", s.server_name, metric_name(s.metric, lang))
        }
    };
    let (na, nb) = (name(&a), name(&b));
    let pair = if same_server { format!("{}: {na} ↔ {nb}", a.server_name) } else { format!("{na} ↔ {nb}") };
    let positive = c.pearson > 0.0;
    let title = lang.pick(
        format!("{pair} 강한 {} 상관 (r = {:.2})", if positive { "양의" } else { "음의" }, c.pearson),
        format!(
            "{pair} {} (r = {:.2})",
            if positive { "move together" } else { "move in opposite directions" },
            c.pearson
        ),
    );
    let lag = text::duration(c.lag_secs.abs(), lang);
    let timing = match c.lag_steps.signum() {
        0 => lang.pick("두 지표는 같은 시점에 함께 움직입니다.".to_string(), "They move at the same time.".to_string()),
        1 => lang.pick(format!("{nb} 쪽이 {na}보다 {lag} 늦게 따라갑니다."), format!("{nb} follows {na} by {lag}.")),
        _ => lang.pick(format!("{na} 쪽이 {nb}보다 {lag} 늦게 따라갑니다."), format!("{na} follows {nb} by {lag}.")),
    };
    let step = text::duration(c.step_secs, lang);
    let description = lang.pick(
        format!(
            "Pearson r = {:.2}, Spearman ρ = {:.2} ({step} 간격 {}개 지점, 유효 표본 약 {:.0}개). {timing}",
            c.pearson, c.spearman, text::count(c.overlap), c.effective_n
        ),
        format!(
            "Pearson r = {:.2}, Spearman ρ = {:.2} over {} points spaced {step} apart (effective sample about {:.0}). {timing}",
            c.pearson, c.spearman, text::count(c.overlap), c.effective_n
        ),
    );
    let mut recommendation = match (same_server, positive) {
        (false, true) => lang.pick(
            "한쪽에 문제가 생기면 다른 쪽도 함께 확인하세요. 공통 원인(트래픽, 배치 작업, 의존 관계)이 있을 가능성이 큽니다.",
            "When one misbehaves, check the other too: a shared cause (traffic, a batch job, a dependency) is likely.",
        ),
        (true, true) => lang.pick(
            "두 지표는 같은 원인을 따릅니다. 알림은 둘 중 하나에만 걸어 중복 알림을 줄이세요.",
            "Both follow the same cause: alert on one of them to avoid duplicate alerts.",
        ),
        (_, false) => lang.pick(
            "한쪽이 오르면 다른 쪽이 내려갑니다. 자원을 나눠 쓰거나 작업을 넘겨받는 관계인지 확인하세요.",
            "One rises as the other falls: check whether they share a resource or hand work to each other.",
        ),
    }
    .to_string();
    if c.lag_steps != 0 {
        recommendation.push(' ');
        recommendation.push_str(lang.pick(
            "앞서 움직이는 쪽을 조기 경보 지표로 쓸 수 있습니다.",
            "The leading series can serve as an early warning for the other.",
        ));
    }
    Finding {
        kind: FindingKind::Correlation,
        severity: Severity::Info,
        server_id: Some(a.server_id.clone()),
        server_name: Some(a.server_name.clone()),
        metric: Some(a.metric),
        title,
        description,
        recommendation,
        score: Some(c.pearson),
        evidence: Evidence::Correlation(PairEvidence { a, b, correlation: c }),
    }
}

#[cfg(test)]
mod tests;
