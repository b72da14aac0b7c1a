//! Why an alert fired, from its evidence: the rule and threshold, the values over the rule's window, the
//! top processes captured at fire time, related anomalies (events and the `analysis` crate's detector
//! on the history) and servers whose same metric moved with it (`analysis` correlation).

use super::super::format::{self, pct};
use super::super::question::Question;
use super::super::{AlertFact, AlertState, EventKind, Facts, Metric, Series};
use super::fleet::{high_metrics, threshold};
use super::{Composed, Ctx, severity_rank};

/// Explanations given at most in one answer.
const MAX_EXPLAINED: usize = 4;
/// History read before an alert fired, for anomalies and correlations: with minute points, three hours
/// leave enough independent readings for a correlation to be significant despite autocorrelation.
pub const LOOKBACK_MS: i64 = 3 * 3_600_000;

/// The alerts an explanation is about: the one asked by id; else the named servers' firing alerts (of
/// the metric asked, if any), or their latest alert of any state; else every firing alert, worst first.
pub fn chosen<'a>(q: &Question, facts: &'a Facts) -> Vec<&'a AlertFact> {
    let Some(all) = &facts.alerts else { return Vec::new() };
    if let Some(id) = &q.alert_id {
        return all.iter().filter(|a| a.id == *id).take(1).collect();
    }
    let rank = |a: &&AlertFact| {
        let state = match a.state {
            AlertState::Firing => 0,
            AlertState::Pending => 1,
            AlertState::Resolved => 2,
        };
        (state, severity_rank(&a.severity), a.started_at_ms)
    };
    let metric_ok = |a: &&AlertFact| q.metric.is_none_or(|m| Metric::of_rule(&a.metric) == Some(m));
    let mut picked: Vec<&AlertFact> = if !q.narrowed() {
        all.iter().filter(|a| a.state == AlertState::Firing).collect()
    } else {
        let ids: Vec<String> = q.scope_any_status(facts).iter().map(|s| s.id.clone()).collect();
        let mine: Vec<&AlertFact> = all.iter().filter(|a| ids.contains(&a.server_id)).collect();
        let firing: Vec<&AlertFact> =
            mine.iter().copied().filter(|a| a.state == AlertState::Firing).filter(metric_ok).collect();
        if firing.is_empty() {
            let mut latest: Vec<&AlertFact> = mine.iter().copied().filter(metric_ok).collect();
            latest.sort_by_key(|a| std::cmp::Reverse(a.fired_at_ms.unwrap_or(a.started_at_ms)));
            latest.into_iter().take(1).collect()
        } else {
            firing
        }
    };
    picked.sort_by_key(|a| rank(a));
    picked.truncate(MAX_EXPLAINED);
    picked
}

pub fn explain(ctx: &Ctx<'_>) -> Composed {
    if ctx.facts.alerts.is_none() {
        return ctx.no_data("알림", "alerts");
    }
    let picked = chosen(ctx.q, ctx.facts);
    if picked.is_empty() {
        return no_alert(ctx);
    }
    let detailed = picked.len() == 1;
    let parts: Vec<String> = picked.iter().map(|a| one(ctx, a, detailed)).collect();
    let compute = ctx.t(
        format!("알림 {}건의 근거, 프로세스, 이상 징후, 상관 서버 분석", picked.len()),
        format!("Read the evidence, processes, anomalies and correlated servers of {} alert(s)", picked.len()),
    );
    let fired = picked.iter().map(|a| a.fired_at_ms.unwrap_or(a.started_at_ms)).min().unwrap_or(ctx.facts.now_ms);
    Composed::new(parts.join("\n\n"), compute).window((fired - LOOKBACK_MS, ctx.facts.now_ms))
}

/// No alert to explain: when the question named servers (by name or by kind, "why is the db slow"),
/// their status and what is high, said plainly; else that nothing is firing. A question narrowed to
/// servers without alerts must not hear "no alert is firing" while others' alerts fire.
fn no_alert(ctx: &Ctx<'_>) -> Composed {
    let servers = ctx.q.scope_any_status(ctx.facts);
    let compute =
        ctx.t("관련 알림 없음: 현재 지표로 설명".into(), "No related alert: explained from the current metrics".into());
    if !ctx.q.narrowed() {
        return Composed::new(
            ctx.t(
                format!("지금 발생 중인 알림이 없습니다 ({}).", ctx.as_of()),
                format!("No alert is firing ({}), so there is nothing to explain.", ctx.as_of()),
            ),
            compute,
        );
    }
    if servers.is_empty() {
        return Composed::new(
            ctx.t(
                format!("물어본 조건에 맞는 서버가 없어 설명할 알림이 없습니다 ({}).", ctx.as_of()),
                format!("No server matches the question, so there is no alert to explain ({}).", ctx.as_of()),
            ),
            compute,
        );
    }
    let lines: Vec<String> = servers
        .iter()
        .map(|s| {
            let high = high_metrics(ctx, s);
            let why = if high.is_empty() {
                ctx.t("모든 지표가 정상 범위입니다".into(), "every metric is within its normal range".into())
            } else {
                ctx.t(format!("높은 항목: {}", high.join(", ")), format!("high: {}", high.join(", ")))
            };
            ctx.t(
                format!("{}에는 알림 기록이 없습니다. 상태 {}: {why}.", s.name, ctx.status(&s.status)),
                format!("{} has no alert on record. It is {}: {why}.", s.name, ctx.status(&s.status)),
            )
        })
        .collect();
    Composed::new(lines.join("\n"), compute)
}

fn window_words(ctx: &Ctx<'_>, a: &AlertFact) -> String {
    match a.window_secs {
        Some(secs) if secs >= 60 => ctx.t(format!("{}분 평균", secs / 60), format!("averaged over {} min", secs / 60)),
        Some(secs) if secs > 0 => ctx.t(format!("{secs}초 평균"), format!("averaged over {secs} s")),
        _ => ctx.t("최신 값".into(), "latest value".into()),
    }
}

fn one(ctx: &Ctx<'_>, a: &AlertFact, detailed: bool) -> String {
    let server = ctx.name(&a.server_id).to_owned();
    let fired = a.fired_at_ms.unwrap_or(a.started_at_ms);
    let metric = Metric::of_rule(&a.metric);
    let mut out = Vec::new();
    let state = match a.state {
        AlertState::Resolved => {
            let end = a.resolved_at_ms.map(|t| ctx.clock(t)).unwrap_or_default();
            ctx.t(format!(", {end}에 해결됨"), format!(", resolved at {end}"))
        }
        AlertState::Pending => ctx.t(", 대기 중".into(), ", still pending".into()),
        AlertState::Firing => String::new(),
    };
    out.push(ctx.t(
        format!(
            "{server}의 '{}' 알림({}, {}에 발생{state}) 원인:",
            a.rule_name,
            ctx.status(&a.severity),
            ctx.clock(fired)
        ),
        format!("Why \"{}\" fired on {server} ({}, at {}{state}):", a.rule_name, a.severity, ctx.clock(fired)),
    ));
    match metric {
        Some(m) => {
            out.push(ctx.t(
                format!(
                    "- 규칙: {} {} {} ({}), {}부터 조건 충족, {}에 발생.",
                    ctx.metric(m),
                    a.op,
                    threshold(m, a.threshold),
                    window_words(ctx, a),
                    ctx.clock(a.started_at_ms),
                    ctx.clock(fired)
                ),
                format!(
                    "- Rule: {} {} {} ({}); the condition held from {} and it fired at {}.",
                    ctx.metric(m),
                    a.op,
                    threshold(m, a.threshold),
                    window_words(ctx, a),
                    ctx.clock(a.started_at_ms),
                    ctx.clock(fired)
                ),
            ));
            out.push(evidence(ctx, a, m));
        }
        None if a.metric == "offline" => {
            let last = ctx.server(&a.server_id).map(|s| {
                format!(
                    "CPU {}, {} {}, {} {}",
                    pct(s.cpu),
                    ctx.metric(Metric::Memory),
                    pct(s.memory),
                    ctx.metric(Metric::Disk),
                    pct(s.disk)
                )
            });
            out.push(ctx.t(
                format!("- 규칙: 서버가 보고를 멈추면 발생. {server}는 {}부터 보고가 없고 {}에 알림이 발생했습니다.", ctx.clock(a.started_at_ms), ctx.clock(fired)),
                format!("- Rule: fires when a server stops reporting. {server} sent nothing after {} and the alert fired at {}.", ctx.clock(a.started_at_ms), ctx.clock(fired)),
            ));
            if let Some(last) = last {
                out.push(
                    ctx.t(format!("- 마지막 보고값: {last}."), format!("- Last values before it stopped: {last}.")),
                );
            }
        }
        None => out.push(ctx.t(
            format!("- 규칙: {} {} {}; 값 {:.2}.", a.metric, a.op, a.threshold, a.value),
            format!("- Rule: {} {} {}; value {:.2}.", a.metric, a.op, a.threshold, a.value),
        )),
    }
    if !a.top_processes.is_empty() {
        let procs: Vec<String> = a
            .top_processes
            .iter()
            .take(if detailed { 5 } else { 3 })
            .map(|p| format!("{} (pid {}) CPU {}, {}", p.name, p.pid, pct(p.cpu), format::bytes(p.memory_bytes as f64)))
            .collect();
        out.push(ctx.t(
            format!("- 발생 시점 상위 프로세스: {}.", procs.join("; ")),
            format!("- Top processes when it fired: {}.", procs.join("; ")),
        ));
    } else if a.metric != "offline" {
        out.push(ctx.t(
            "- 발생 시점 프로세스 정보는 수집되지 않았습니다.".into(),
            "- No processes were captured when it fired.".into(),
        ));
    }
    if let Some(m) = metric {
        let related = related(ctx, a, m, detailed);
        if !related.is_empty() {
            out.push(ctx.t(format!("- 관련: {}.", related.join("; ")), format!("- Related: {}.", related.join("; "))));
        }
    }
    if let Some(by) = &a.acknowledged_by {
        let at = a.acknowledged_at_ms.map(|t| ctx.clock(t)).unwrap_or_default();
        out.push(ctx.t(format!("- {by}님이 {at}에 확인했습니다."), format!("- Acknowledged by {by} at {at}.")));
    }
    if a.silenced {
        out.push(
            ctx.t("- 사일런스로 알림 전송은 보류되었습니다.".into(), "- A silence held back its notifications.".into()),
        );
    }
    out.join("\n")
}

/// The readings the rule saw before firing, and the value now.
fn evidence(ctx: &Ctx<'_>, a: &AlertFact, m: Metric) -> String {
    let fired = a.fired_at_ms.unwrap_or(a.started_at_ms);
    let points: Vec<(i64, f64)> = if a.evidence.is_empty() {
        let from = fired - a.window_secs.unwrap_or(300).max(60) as i64 * 1000;
        own_series(ctx.facts, &a.server_id, m)
            .map(|s| s.points.iter().copied().filter(|(t, _)| *t >= from && *t <= fired).collect())
            .unwrap_or_default()
    } else {
        a.evidence.clone()
    };
    let now = match (a.state, ctx.server(&a.server_id)) {
        (AlertState::Resolved, _) | (_, None) => String::new(),
        (_, Some(s)) => {
            ctx.t(format!(" 현재 {}.", format::value(m, m.value(s))), format!(" Now {}.", format::value(m, m.value(s))))
        }
    };
    if points.is_empty() {
        return ctx.t(
            format!("- 근거: 마지막 평가값 {} (기준 {}).{now}", format::value(m, a.value), threshold(m, a.threshold)),
            format!(
                "- Evidence: the last evaluated value was {} against {}.{now}",
                format::value(m, a.value),
                threshold(m, a.threshold)
            ),
        );
    }
    let values: Vec<String> = points.iter().rev().take(8).rev().map(|(_, v)| format::value(m, *v)).collect();
    let avg = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let peak = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let (from, to) = (points[0].0, points[points.len() - 1].0);
    ctx.t(
        format!(
            "- 근거: {}의 값 {} (평균 {}, 최고 {}), 마지막 평가값 {}.{now}",
            ctx.range((from, to)),
            values.join(", "),
            format::value(m, avg),
            format::value(m, peak),
            format::value(m, a.value)
        ),
        format!(
            "- Evidence: readings {} were {} (avg {}, peak {}); last evaluated value {}.{now}",
            ctx.range((from, to)),
            values.join(", "),
            format::value(m, avg),
            format::value(m, peak),
            format::value(m, a.value)
        ),
    )
}

fn own_series<'a>(facts: &'a Facts, id: &str, m: Metric) -> Option<&'a Series> {
    facts.series_of(id, m).next()
}

fn to_points(points: &[(i64, f64)], from: i64, to: i64) -> Vec<analysis::Point> {
    points
        .iter()
        .filter(|(t, _)| *t >= from && *t <= to)
        .map(|(t, v)| analysis::Point::new(t.div_euclid(1000), *v))
        .collect()
}

fn analysis_metric(m: Metric) -> analysis::Metric {
    match m {
        Metric::Cpu => analysis::Metric::Cpu,
        Metric::Memory => analysis::Metric::Memory,
        Metric::Disk => analysis::Metric::Disk,
        Metric::Network => analysis::Metric::NetworkIn,
        Metric::Load => analysis::Metric::Load1,
    }
}

/// Anomalies recorded or detected on the server around the firing, and servers whose same metric
/// moved with it.
fn related(ctx: &Ctx<'_>, a: &AlertFact, m: Metric, with_peers: bool) -> Vec<String> {
    let fired = a.fired_at_ms.unwrap_or(a.started_at_ms);
    let from = fired - LOOKBACK_MS;
    let to = a.resolved_at_ms.unwrap_or(ctx.facts.now_ms).min(ctx.facts.now_ms).max(fired);
    let mut out = Vec::new();
    for e in ctx.facts.events.iter().flatten() {
        if e.kind == EventKind::Anomaly
            && e.server_id.as_deref() == Some(a.server_id.as_str())
            && e.at_ms >= from
            && e.at_ms <= to
        {
            out.push(ctx.t(
                format!("{} 이상 징후 ({})", ctx.clock(e.at_ms), e.detail),
                format!("anomaly at {} ({})", ctx.clock(e.at_ms), e.detail),
            ));
        }
    }
    let Some(own) = own_series(ctx.facts, &a.server_id, m) else { return out };
    // Several alerts at once get the short form: correlations only for a single explanation.
    if !with_peers {
        return out;
    }
    let mine = to_points(&own.points, from, to);
    if out.is_empty()
        && let Some(an) = analysis::anomaly::detect(&mine, analysis_metric(m), 3.5).last()
    {
        out.push(ctx.t(
            format!(
                "{} {} {}: 평소 범위 {}~{} 밖",
                ctx.clock(an.at * 1000),
                ctx.metric(m),
                format::value(m, an.value),
                format::value(m, an.expected_lower),
                format::value(m, an.expected_upper)
            ),
            format!(
                "{} {} at {} was outside its usual {}–{}",
                ctx.metric(m),
                format::value(m, an.value),
                ctx.clock(an.at * 1000),
                format::value(m, an.expected_lower),
                format::value(m, an.expected_upper)
            ),
        ));
    }
    let mut peers: Vec<(f64, String)> = ctx
        .facts
        .series
        .iter()
        .filter(|s| s.server_id != a.server_id && m.matches_series(&s.metric))
        .take(300)
        .filter_map(|s| {
            let c = analysis::correlation::correlate(&mine, &to_points(&s.points, from, to), 10)?;
            c.is_strong(0.8).then(|| (c.pearson, ctx.name(&s.server_id).to_owned()))
        })
        .collect();
    peers.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
    for (r, name) in peers.into_iter().take(3) {
        let firing_too = ctx
            .facts
            .alerts
            .iter()
            .flatten()
            .any(|x| x.state == AlertState::Firing && ctx.name(&x.server_id) == name && x.rule_id == a.rule_id);
        let also = if firing_too {
            ctx.t(", 같은 알림 발생 중".into(), ", firing the same rule".into())
        } else {
            String::new()
        };
        out.push(ctx.t(
            format!("{name}의 {}{} 함께 움직임 (r = {r:.2}{also})", ctx.metric(m), format::ga(ctx.metric(m))),
            format!("{name}'s {} moved with it (r = {r:.2}{also})", ctx.metric(m)),
        ));
    }
    out
}
