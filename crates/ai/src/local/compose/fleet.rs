//! The fleet as a whole: the summary, triage (what needs attention, worst first, with the evidence), and
//! lists of servers matching a filter (counts, yes/no, lists).

use super::super::filters::Filter;
use super::super::format::{self, pct};
use super::super::question::Form;
use super::super::{AlertFact, AlertState, EventKind, Metric, ServerFact};
use super::{Composed, Ctx, severity_rank};

/// CPU, memory or disk at or above this is named as evidence.
const HIGH: f64 = 80.0;

/// "CPU 96.2%, memory 85.0%": the metrics at or above 80%, worst first.
pub fn high_metrics(ctx: &Ctx<'_>, s: &ServerFact) -> Vec<String> {
    let mut high: Vec<(Metric, f64)> = [Metric::Cpu, Metric::Memory, Metric::Disk]
        .iter()
        .map(|m| (*m, m.value(s)))
        .filter(|(_, v)| *v >= HIGH)
        .collect();
    high.sort_by(|a, b| b.1.total_cmp(&a.1));
    high.into_iter().map(|(m, v)| format!("{} {}", ctx.metric(m), pct(v))).collect()
}

fn averages(ctx: &Ctx<'_>, servers: &[&ServerFact]) -> String {
    let live: Vec<&&ServerFact> = servers.iter().filter(|s| s.status != "offline").collect();
    if live.is_empty() {
        return String::new();
    }
    let n = live.len() as f64;
    let avg = |m: Metric| pct(live.iter().map(|s| m.value(s)).sum::<f64>() / n);
    ctx.t(
        format!(
            " 평균(보고 중 {}대): CPU {}, 메모리 {}, 디스크 {}.",
            live.len(),
            avg(Metric::Cpu),
            avg(Metric::Memory),
            avg(Metric::Disk)
        ),
        format!(
            " Averages over the {} reporting: CPU {}, memory {}, disk {}.",
            live.len(),
            avg(Metric::Cpu),
            avg(Metric::Memory),
            avg(Metric::Disk)
        ),
    )
}

fn attention(servers: &[&ServerFact]) -> Vec<ServerFact> {
    let mut out: Vec<ServerFact> =
        servers.iter().filter(|s| severity_rank(&s.status) <= 2).map(|s| (*s).clone()).collect();
    let worst = |s: &ServerFact| s.cpu.max(s.memory).max(s.disk);
    out.sort_by(|a, b| severity_rank(&a.status).cmp(&severity_rank(&b.status)).then(worst(b).total_cmp(&worst(a))));
    out
}

fn short_item(ctx: &Ctx<'_>, s: &ServerFact) -> String {
    let status = ctx.status(&s.status);
    let high = high_metrics(ctx, s);
    if high.is_empty() || s.status == "offline" {
        format!("{} ({status})", s.name)
    } else {
        format!("{} ({status}: {})", s.name, high.join(", "))
    }
}

pub fn summary(ctx: &Ctx<'_>) -> Composed {
    // A status word in a summary question ("are all servers up?") is what is checked, not a filter.
    let servers: Vec<&ServerFact> = ctx.q.scope_any_status(ctx.facts);
    if servers.is_empty() {
        return Composed::new(
            ctx.t(
                "아직 보고된 서버가 없습니다. 에이전트를 연결하거나 데모 모드를 켜 주세요.".into(),
                "No servers have reported yet. Connect an agent or turn on the demo fleet.".into(),
            ),
            ctx.t("서버 없음".into(), "No servers".into()),
        )
        .capped(0.5);
    }
    let count = |status: &str| servers.iter().filter(|s| s.status == status).count();
    let mut parts_ko = vec![
        format!("정상 {}대", count("online")),
        format!("경고 {}대", count("warning")),
        format!("심각 {}대", count("critical")),
    ];
    let mut parts_en = vec![
        format!("{} online", count("online")),
        format!("{} warning", count("warning")),
        format!("{} critical", count("critical")),
    ];
    for (status, ko, en) in [
        ("offline", "오프라인", "offline"),
        ("maintenance", "점검 중", "in maintenance"),
        ("unknown", "알 수 없음", "unknown"),
    ] {
        if count(status) > 0 {
            parts_ko.push(format!("{ko} {}대", count(status)));
            parts_en.push(format!("{} {en}", count(status)));
        }
    }
    let need = attention(&servers);
    let lead = match (ctx.q.form, need.is_empty()) {
        (Form::YesNo, true) => ctx.t("네, 모두 정상입니다. ".into(), "Yes, all good. ".into()),
        (Form::YesNo, false) => ctx.t(
            format!("아니요, {}대가 주의가 필요합니다. ", need.len()),
            format!("No: {} need attention. ", format::servers(need.len())),
        ),
        _ => String::new(),
    };
    let mut text = ctx.t(
        format!("{lead}서버 {}대 현황 ({}): {}.", servers.len(), ctx.as_of(), parts_ko.join(", ")),
        format!("{lead}{} {}: {}.", format::servers(servers.len()), ctx.as_of(), parts_en.join(", ")),
    );
    text.push_str(&averages(ctx, &servers));
    if need.is_empty() {
        text.push_str(&ctx.t(" 모든 서버가 정상입니다.".into(), " Every server is healthy.".into()));
    } else {
        let items: Vec<String> = need.iter().map(|s| short_item(ctx, s)).collect();
        let items = capped(ctx, &items);
        text.push_str(&ctx.t(format!("\n주의 필요: {items}."), format!("\nNeeds attention: {items}.")));
    }
    if ctx.q.narrowed() {
        // A summary of part of the fleet names its servers.
        let items: Vec<String> = servers.iter().map(|s| format!("{} ({})", s.name, ctx.status(&s.status))).collect();
        let items = capped(ctx, &items);
        text.push_str(&ctx.t(format!("\n서버: {items}."), format!("\nServers: {items}.")));
    }
    let firing: u32 = servers.iter().map(|s| s.firing_alerts).sum();
    text.push_str(&ctx.t(format!("\n발생 중인 알림 {firing}건."), format!("\n{}.", alerts_firing(firing as usize))));
    Composed::new(
        text,
        ctx.t(
            format!("상태별 집계와 평균 계산 (서버 {}대)", servers.len()),
            format!("Counted statuses and averaged metrics over {} servers", servers.len()),
        ),
    )
}

pub fn alerts_firing(n: usize) -> String {
    if n == 1 { "1 alert firing".into() } else { format!("{n} alerts firing") }
}

/// The firing alerts of a server.
fn firing_of<'a>(ctx: &'a Ctx<'_>, id: &str) -> Vec<&'a AlertFact> {
    ctx.facts.alerts.iter().flatten().filter(|a| a.server_id == id && a.state == AlertState::Firing).collect()
}

/// One alert as evidence: "CPU critical: 96.2% > 90 since 17:33, acknowledged by minji".
pub fn alert_evidence(ctx: &Ctx<'_>, a: &AlertFact) -> String {
    let since = ctx.clock(a.fired_at_ms.unwrap_or(a.started_at_ms));
    let value = match Metric::of_rule(&a.metric) {
        Some(m) => format!("{} {} {}", format::value(m, a.value), a.op, threshold(m, a.threshold)),
        None => String::new(),
    };
    let mut extra = Vec::new();
    if let Some(by) = &a.acknowledged_by {
        extra.push(ctx.t(format!("{by} 확인"), format!("acknowledged by {by}")));
    }
    if a.silenced {
        extra.push(ctx.t("사일런스됨".into(), "silenced".into()));
    }
    let extra = if extra.is_empty() { String::new() } else { format!(", {}", extra.join(", ")) };
    let value = if value.is_empty() { String::new() } else { format!(": {value}") };
    ctx.t(
        format!("알림 '{}'{value}, {since}부터{extra}", a.rule_name),
        format!("alert \"{}\"{value} since {since}{extra}", a.rule_name),
    )
}

/// A threshold in the metric's unit, without a trailing `.0` for whole percentages.
pub fn threshold(m: Metric, v: f64) -> String {
    match m {
        Metric::Network => format::rate(v),
        Metric::Load => format!("{v:.2}"),
        _ if v.fract() == 0.0 => format!("{v:.0}%"),
        _ => pct(v),
    }
}

/// When a server went offline, from its status change or its offline alert.
fn offline_since(ctx: &Ctx<'_>, id: &str) -> Option<i64> {
    let from_events = ctx.facts.events.iter().flatten().rev().find(|e| {
        e.kind == EventKind::StatusChanged && e.server_id.as_deref() == Some(id) && e.to.as_deref() == Some("offline")
    });
    from_events
        .map(|e| e.at_ms)
        .or_else(|| firing_of(ctx, id).iter().find(|a| a.metric == "offline").map(|a| a.started_at_ms))
}

pub fn triage(ctx: &Ctx<'_>) -> Composed {
    let servers = ctx.q.scope_any_status(ctx.facts);
    let need = attention(&servers);
    let compute = ctx.t(
        format!("서버 {}대 중 주의 대상 {}대를 심각도 순으로 정렬, 근거 수집", servers.len(), need.len()),
        format!("Ranked {} of {} servers by severity and gathered the evidence", need.len(), servers.len()),
    );
    if need.is_empty() {
        let text = ctx.t(
            format!(
                "{}지금 주의가 필요한 서버는 없습니다: 서버 {}대 모두 정상입니다 ({}).",
                if ctx.q.form == Form::YesNo { "아니요, " } else { "" },
                servers.len(),
                ctx.as_of()
            ),
            format!(
                "{}Nothing needs attention: all {} are healthy ({}).",
                if ctx.q.form == Form::YesNo { "No. " } else { "" },
                format::servers(servers.len()),
                ctx.as_of()
            ),
        );
        return Composed::new(text, compute);
    }
    let mut lines = Vec::new();
    for (i, s) in need.iter().take(MAX_LISTED).enumerate() {
        let mut evidence: Vec<String> = Vec::new();
        if s.status == "offline" {
            match offline_since(ctx, &s.id) {
                Some(at) => evidence.push(ctx.t(
                    format!("{}부터 보고 없음 ({} 전)", ctx.clock(at), ctx.ago(at)),
                    format!("no reports since {} ({} ago)", ctx.clock(at), ctx.ago(at)),
                )),
                None => evidence.push(ctx.t("보고 없음".into(), "not reporting".into())),
            }
        } else {
            evidence.extend(high_metrics(ctx, s));
            if s.specs.cpu_cores > 0 && s.load[0] > f64::from(s.specs.cpu_cores) * 0.9 {
                evidence.push(ctx.t(
                    format!("부하 {:.2} (코어 {}개)", s.load[0], s.specs.cpu_cores),
                    format!("load {:.2} on {} cores", s.load[0], s.specs.cpu_cores),
                ));
            }
        }
        evidence.extend(firing_of(ctx, &s.id).into_iter().map(|a| alert_evidence(ctx, a)));
        lines.push(format!("{}. {} ({}): {}", i + 1, s.name, ctx.status(&s.status), evidence.join("; ")));
    }
    let lead = if ctx.q.form == Form::YesNo { ctx.t("네. ".into(), "Yes. ".into()) } else { String::new() };
    let mut text = ctx.t(
        format!("{lead}주의가 필요한 서버 {}대 (심각한 순, {}):\n{}", need.len(), ctx.as_of(), lines.join("\n")),
        format!(
            "{lead}{} need attention, worst first ({}):\n{}",
            format::servers(need.len()),
            ctx.as_of(),
            lines.join("\n")
        ),
    );
    if need.len() > MAX_LISTED {
        let more = need.len() - MAX_LISTED;
        text.push_str(&ctx.t(format!("\n외 {more}대"), format!("\nand {more} more")));
    }
    let maintenance: Vec<&&ServerFact> =
        servers.iter().filter(|s| s.status == "maintenance").take(MAX_LISTED).collect();
    if !maintenance.is_empty() {
        let names: Vec<String> = maintenance.iter().map(|s| s.name.clone()).collect();
        text.push_str(&ctx.t(
            format!("\n점검 중(제외): {}.", names.join(", ")),
            format!("\nIn maintenance (left out): {}.", names.join(", ")),
        ));
    }
    if ctx.facts.alerts.is_none() {
        text.push_str(&ctx.t(
            "\n(알림 데이터는 없어 지표로만 판단했습니다.)".into(),
            "\n(No alert data: judged from metrics only.)".into(),
        ));
    }
    Composed::new(text, compute)
}

/// The filter in words: "critical api servers in production on AWS", "운영 환경 API 서버 중 심각 상태".
pub fn describe(ctx: &Ctx<'_>, f: &Filter) -> String {
    let first = |k: &String| k.split('|').next().unwrap_or_default().to_owned();
    let provider = |k: &String| {
        let p = first(k);
        if p.len() <= 3 { p.to_uppercase() } else { p }
    };
    let statuses: Vec<String> = f.statuses.iter().map(|s| ctx.status(s)).collect();
    let types: Vec<String> = f.types.iter().map(|t| format::type_name(t, ctx.lang)).collect();
    if ctx.ko() {
        let mut out = String::new();
        for list in [
            &f.envs.iter().map(|e| format!("{} 환경", env_ko(&first(e)))).collect::<Vec<_>>(),
            &f.providers.iter().map(provider).collect(),
            &f.locations.iter().map(first).collect(),
            &f.sources.iter().map(|s| source_ko(s)).collect(),
            &types,
        ] {
            if !list.is_empty() {
                out.push_str(&list.join("/"));
                out.push(' ');
            }
        }
        out.push_str("서버");
        if !statuses.is_empty() {
            out = format!("{} 상태인 {out}", statuses.join(" 또는 "));
        }
        return out;
    }
    let mut out = Vec::new();
    if !statuses.is_empty() {
        out.push(statuses.join(" or "));
    }
    if !types.is_empty() {
        out.push(types.join(" or "));
    }
    out.push("servers".into());
    for e in &f.envs {
        out.push(format!("in {}", first(e)));
    }
    if !f.providers.is_empty() {
        out.push(format!("on {}", f.providers.iter().map(provider).collect::<Vec<_>>().join(" or ")));
    }
    if !f.locations.is_empty() {
        out.push(format!("in {}", f.locations.iter().map(first).collect::<Vec<_>>().join(" or ")));
    }
    for s in &f.sources {
        out.push(match s.as_str() {
            "agent" => "reporting through agents".into(),
            "simulated" => "(simulated)".into(),
            "self" => "(the hub itself)".into(),
            other => format!("({other})"),
        });
    }
    out.join(" ")
}

fn env_ko(e: &str) -> String {
    match e {
        "production" => "운영".into(),
        "staging" => "스테이징".into(),
        "development" => "개발".into(),
        "test" => "테스트".into(),
        other => other.to_owned(),
    }
}

fn source_ko(s: &str) -> String {
    match s {
        "agent" => "에이전트".into(),
        "simulated" => "시뮬레이션".into(),
        "self" => "허브 자체".into(),
        "static" => "수동 등록".into(),
        other => other.to_owned(),
    }
}

pub fn list(ctx: &Ctx<'_>) -> Composed {
    let matched: Vec<&ServerFact> = ctx.scope();
    if let Some(by) = ctx.q.group_by {
        return grouped(ctx, &matched, by);
    }
    let desc = describe(ctx, &ctx.q.filter);
    let compute =
        ctx.t(format!("조건 필터: {desc} {}대", matched.len()), format!("Filtered {desc}: {}", matched.len()));
    let n = matched.len();
    let items: Vec<String> = matched
        .iter()
        .map(|s| {
            if s.status == "offline" {
                format!("{} ({})", s.name, ctx.status(&s.status))
            } else {
                format!("{} ({}, CPU {})", s.name, ctx.status(&s.status), pct(s.cpu))
            }
        })
        .collect();
    let listed = capped(ctx, &items);
    let text = match (ctx.q.form, n) {
        (Form::YesNo, 0) => ctx.t(
            format!("아니요, {desc}는 없습니다 ({}).", ctx.as_of()),
            format!("No, there are no {desc} ({}).", ctx.as_of()),
        ),
        (Form::YesNo, _) => {
            ctx.t(format!("네, {desc} {n}대: {listed}."), format!("Yes: {n} {}: {listed}.", singular(&desc, n)))
        }
        (_, 0) => ctx
            .t(format!("{desc}는 0대입니다 ({}).", ctx.as_of()), format!("There are no {desc} ({}): 0.", ctx.as_of())),
        (Form::Count, _) => {
            ctx.t(format!("{desc}는 {n}대입니다: {listed}."), format!("{n} {}: {listed}.", singular(&desc, n)))
        }
        _ => ctx.t(
            format!("{desc} {n}대 ({}): {listed}.", ctx.as_of()),
            format!("{n} {} ({}): {listed}.", singular(&desc, n), ctx.as_of()),
        ),
    };
    Composed::new(text, compute)
}

/// Counts of servers per group, largest first: "AWS 4 (db-master, ...), GCP 6 (...)".
fn grouped(ctx: &Ctx<'_>, servers: &[&ServerFact], by: super::super::question::GroupBy) -> Composed {
    use super::super::question::GroupBy;
    let key = |s: &ServerFact| -> String {
        match by {
            GroupBy::Status => ctx.status(&s.status),
            GroupBy::Type => format::type_name(&s.server_type, ctx.lang),
            GroupBy::Environment => s.environment.clone(),
            GroupBy::Provider => s.provider.clone(),
            GroupBy::Location => s.location.clone(),
            GroupBy::Source => s.source.clone(),
        }
    };
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for s in servers {
        let k = key(s);
        let k = if k.is_empty() { "-".to_owned() } else { k };
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, names)) => names.push(s.name.clone()),
            None => groups.push((k, vec![s.name.clone()])),
        }
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let lines: Vec<String> = groups
        .iter()
        .take(MAX_LISTED)
        .map(|(g, names)| format!("- {g}: {} ({})", names.len(), capped(ctx, names)))
        .collect();
    Composed::new(
        ctx.t(
            format!("서버 {}대, 그룹 {}개 ({}):\n{}", servers.len(), groups.len(), ctx.as_of(), lines.join("\n")),
            format!(
                "{} in {} groups ({}):\n{}",
                format::servers(servers.len()),
                groups.len(),
                ctx.as_of(),
                lines.join("\n")
            ),
        ),
        ctx.t(format!("그룹 {}개로 집계", groups.len()), format!("Counted by {} groups", groups.len())),
    )
}

/// Items listed at most in one answer; the rest are counted, so a large fleet's answer stays readable
/// (and bounded).
pub const MAX_LISTED: usize = 30;

/// `items` joined, the first [`MAX_LISTED`] of them and the count of the rest.
pub fn capped(ctx: &Ctx<'_>, items: &[String]) -> String {
    let shown = items.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join(", ");
    match items.len().saturating_sub(MAX_LISTED) {
        0 => shown,
        more => ctx.t(format!("{shown} 외 {more}대"), format!("{shown} and {more} more")),
    }
}

/// "servers" -> "server" for one.
fn singular(desc: &str, n: usize) -> String {
    if n == 1 { desc.replacen("servers", "server", 1) } else { desc.to_owned() }
}
