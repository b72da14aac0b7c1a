//! One server: its status with every latest value and its firing alerts, one metric of it (with the
//! units that make it readable: free space, cores), and how long it has been up.

use super::super::format::{self, pct};
use super::super::question::Form;
use super::super::time;
use super::super::{AlertState, Metric, ServerFact};
use super::fleet::{alert_evidence, high_metrics};
use super::{Composed, Ctx};

fn named<'a>(ctx: &Ctx<'a>) -> Vec<&'a ServerFact> {
    ctx.scope()
}

fn free_disk(s: &ServerFact) -> Option<String> {
    (s.specs.disk_bytes > 0).then(|| format::bytes(s.specs.disk_bytes as f64 * (100.0 - s.disk).max(0.0) / 100.0))
}

fn where_(s: &ServerFact) -> String {
    [s.server_type.as_str(), s.environment.as_str(), &format!("{} {}", s.provider, s.location)]
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn status(ctx: &Ctx<'_>) -> Composed {
    let servers = named(ctx);
    let Some(first) = servers.first() else { return super::hub::unknown_server(ctx) };
    let mut parts = Vec::new();
    for s in &servers {
        parts.push(one_status(ctx, s));
    }
    let lead = match ctx.q.form {
        Form::YesNo if servers.len() == 1 => match first.status.as_str() {
            "online" => ctx.t("네, ".into(), "Yes: ".into()),
            _ => ctx.t("아니요, ".into(), "No: ".into()),
        },
        _ => String::new(),
    };
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    Composed::new(
        format!("{lead}{}{}", parts.join("\n\n"), ctx.unknown_note()),
        ctx.t(
            format!("{}의 최신 지표와 알림 확인", names.join(", ")),
            format!("Read the latest metrics and alerts of {}", names.join(", ")),
        ),
    )
}

fn one_status(ctx: &Ctx<'_>, s: &ServerFact) -> String {
    let status = ctx.status(&s.status);
    let up = time::duration(s.uptime_secs as i64 * 1000, ctx.lang);
    let free_ko = free_disk(s).map(|f| format!(" (남은 공간 {f})")).unwrap_or_default();
    let free_en = free_disk(s).map(|f| format!(" ({f} free)")).unwrap_or_default();
    let cores_ko = if s.specs.cpu_cores > 0 { format!(" (코어 {}개)", s.specs.cpu_cores) } else { String::new() };
    let cores_en = if s.specs.cpu_cores > 0 { format!(" on {} cores", s.specs.cpu_cores) } else { String::new() };
    let stale_ko = if s.status == "offline" { " (마지막으로 보고된 값)" } else { "" };
    let stale_en = if s.status == "offline" { " (last reported values)" } else { "" };
    let mut text = ctx.t(
        format!(
            "{} ({}) 상태: {status} ({}){stale_ko}. CPU {}, 메모리 {}, 디스크 {}{free_ko}, 네트워크 수신 {} / 송신 {}, 부하 {:.2}{cores_ko}, 가동 {up}.",
            s.name,
            where_(s),
            ctx.as_of(),
            pct(s.cpu),
            pct(s.memory),
            pct(s.disk),
            format::rate(s.network_in),
            format::rate(s.network_out),
            s.load[0],
        ),
        format!(
            "{} ({}) is {status} ({}){stale_en}: CPU {}, memory {}, disk {}{free_en}, network in {} / out {}, load {:.2}{cores_en}, up {up}.",
            s.name,
            where_(s),
            ctx.as_of(),
            pct(s.cpu),
            pct(s.memory),
            pct(s.disk),
            format::rate(s.network_in),
            format::rate(s.network_out),
            s.load[0],
        ),
    );
    let high = high_metrics(ctx, s);
    if s.status != "offline" {
        text.push_str(&if high.is_empty() {
            ctx.t(" 모든 지표가 정상 범위입니다.".into(), " Every metric is within its normal range.".into())
        } else {
            ctx.t(format!(" 높은 항목: {}.", high.join(", ")), format!(" High: {}.", high.join(", ")))
        });
    }
    if let Some(alerts) = &ctx.facts.alerts {
        let firing: Vec<String> = alerts
            .iter()
            .filter(|a| a.server_id == s.id && a.state == AlertState::Firing)
            .map(|a| alert_evidence(ctx, a))
            .collect();
        if !firing.is_empty() {
            text.push_str(
                &ctx.t(format!("\n발생 중: {}.", firing.join("; ")), format!("\nFiring: {}.", firing.join("; "))),
            );
        }
    }
    text
}

pub fn metric(ctx: &Ctx<'_>) -> Composed {
    let servers = named(ctx);
    if servers.is_empty() {
        return super::hub::unknown_server(ctx);
    }
    if ctx.q.uptime {
        return uptime(ctx, &servers);
    }
    let m = ctx.q.metric_or_cpu();
    let lines: Vec<String> = servers.iter().map(|s| one_metric(ctx, s, m)).collect();
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let mut out = Composed::new(
        format!("{}{}", lines.join("\n"), ctx.unknown_note()),
        ctx.t(
            format!("{}의 최신 {} 확인", names.join(", "), ctx.metric(m)),
            format!("Read the latest {} of {}", ctx.metric(m), names.join(", ")),
        ),
    );
    if ctx.q.metric_defaulted {
        out = out.capped(0.7);
    }
    out
}

fn one_metric(ctx: &Ctx<'_>, s: &ServerFact, m: Metric) -> String {
    let at = ctx.as_of();
    let stale = if s.status == "offline" {
        ctx.t(" (오프라인: 마지막 보고값)".into(), " (offline: last reported value)".into())
    } else {
        String::new()
    };
    let name = ctx.metric(m);
    match m {
        Metric::Network => ctx.t(
            format!(
                "{}의 네트워크 ({at}): 수신 {}, 송신 {} (합계 {}){stale}.",
                s.name,
                format::rate(s.network_in),
                format::rate(s.network_out),
                format::rate(s.network_in + s.network_out)
            ),
            format!(
                "Network on {} ({at}): in {}, out {} ({} total){stale}.",
                s.name,
                format::rate(s.network_in),
                format::rate(s.network_out),
                format::rate(s.network_in + s.network_out)
            ),
        ),
        Metric::Load => {
            let cores = if s.specs.cpu_cores > 0 { format!(", {}코어", s.specs.cpu_cores) } else { String::new() };
            let cores_en =
                if s.specs.cpu_cores > 0 { format!(" on {} cores", s.specs.cpu_cores) } else { String::new() };
            ctx.t(
                format!(
                    "{}의 부하 ({at}): 1분 {:.2}, 5분 {:.2}, 15분 {:.2}{cores}{stale}.",
                    s.name, s.load[0], s.load[1], s.load[2]
                ),
                format!(
                    "Load on {} ({at}): {:.2} (1 min), {:.2} (5 min), {:.2} (15 min){cores_en}{stale}.",
                    s.name, s.load[0], s.load[1], s.load[2]
                ),
            )
        }
        Metric::Disk => {
            let free_ko = free_disk(s)
                .map(|f| format!(", 남은 공간 {f} (전체 {})", format::bytes(s.specs.disk_bytes as f64)))
                .unwrap_or_default();
            let free_en = free_disk(s)
                .map(|f| format!(", {f} free of {}", format::bytes(s.specs.disk_bytes as f64)))
                .unwrap_or_default();
            ctx.t(
                format!("{}의 디스크 사용률은 {}입니다{free_ko} ({at}){stale}.", s.name, pct(s.disk)),
                format!("Disk on {} is {} used{free_en} ({at}){stale}.", s.name, pct(s.disk)),
            )
        }
        Metric::Memory => {
            let total = (s.specs.memory_bytes > 0).then(|| format::bytes(s.specs.memory_bytes as f64));
            let free = (s.specs.memory_bytes > 0)
                .then(|| format::bytes(s.specs.memory_bytes as f64 * (100.0 - s.memory).max(0.0) / 100.0));
            let of_ko =
                total.as_ref().zip(free.as_ref()).map(|(t, f)| format!(" (전체 {t}, 남은 {f})")).unwrap_or_default();
            let of_en =
                total.as_ref().zip(free.as_ref()).map(|(t, f)| format!(" of {t}, {f} free")).unwrap_or_default();
            ctx.t(
                format!("{}의 메모리 사용률은 {}{of_ko}입니다 ({at}){stale}.", s.name, pct(s.memory)),
                format!("Memory on {} is {}{of_en} ({at}){stale}.", s.name, pct(s.memory)),
            )
        }
        Metric::Cpu => ctx.t(
            format!("{}의 {name} 사용률은 {}입니다 ({at}){stale}.", s.name, pct(s.cpu)),
            format!("{name} on {} is {} ({at}){stale}.", s.name, pct(s.cpu)),
        ),
    }
}

fn uptime(ctx: &Ctx<'_>, servers: &[&ServerFact]) -> Composed {
    // Several servers: longest up first (shortest with "least", "가장 짧은"), the first few.
    let mut servers = servers.to_vec();
    servers.sort_by(|a, b| {
        let o = b.uptime_secs.cmp(&a.uptime_secs);
        if ctx.q.ascending { o.reverse() } else { o }
    });
    let lines: Vec<String> = servers
        .iter()
        .take(if ctx.q.servers.is_empty() { 5 } else { super::fleet::MAX_LISTED })
        .map(|s| {
            let ms = s.uptime_secs as i64 * 1000;
            let days = s.uptime_secs as f64 / 86_400.0;
            let since = ctx.facts.now_ms - ms;
            let when = if days >= 1.0 { time::day(since, ctx.facts.utc_offset_secs) } else { ctx.clock(since) };
            ctx.t(
                format!(
                    "{}의 가동 시간: {days:.1}일 ({}), 마지막 재시작 {when}.",
                    s.name,
                    time::duration(ms, ctx.lang)
                ),
                format!(
                    "{} has been up {days:.1} days ({}): last restarted {when}.",
                    s.name,
                    time::duration(ms, ctx.lang)
                ),
            )
        })
        .collect();
    Composed::new(
        lines.join("\n"),
        ctx.t("가동 시간에서 마지막 재시작 시각 계산".into(), "Worked out the last restart from the uptime".into()),
    )
}
