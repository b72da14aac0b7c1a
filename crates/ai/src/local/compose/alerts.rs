//! Alerts (what fires, pending or resolved, since when, acknowledged by whom) and silences (what is
//! muted, until when, by whom).

use super::super::format;
use super::super::question::Form;
use super::super::time::Window;
use super::super::{AlertFact, AlertState, Metric};
use super::fleet::threshold;
use super::{Composed, Ctx, severity_rank};

fn state_name(ctx: &Ctx<'_>, s: AlertState) -> String {
    match (s, ctx.ko()) {
        (AlertState::Firing, true) => "발생 중".into(),
        (AlertState::Pending, true) => "대기".into(),
        (AlertState::Resolved, true) => "해결됨".into(),
        (AlertState::Firing, false) => "firing".into(),
        (AlertState::Pending, false) => "pending".into(),
        (AlertState::Resolved, false) => "resolved".into(),
    }
}

/// "[critical] api-01: CPU critical: 96.2% > 90% since 17:33 (7m), acknowledged by minji at 17:36".
pub fn line(ctx: &Ctx<'_>, a: &AlertFact) -> String {
    let sev = ctx.status(&a.severity);
    let server = ctx.name(&a.server_id);
    let since = a.fired_at_ms.unwrap_or(a.started_at_ms);
    let value = Metric::of_rule(&a.metric)
        .map(|m| format!(": {} {} {}", format::value(m, a.value), a.op, threshold(m, a.threshold)))
        .unwrap_or_default();
    let mut tail = match a.state {
        AlertState::Resolved => {
            let end = a.resolved_at_ms.map(|t| ctx.clock(t)).unwrap_or_default();
            ctx.t(format!(", {}~{end} (해결됨)", ctx.clock(since)), format!(", {}–{end} (resolved)", ctx.clock(since)))
        }
        AlertState::Pending => {
            ctx.t(format!(", {}부터 대기 중", ctx.clock(since)), format!(", pending since {}", ctx.clock(since)))
        }
        AlertState::Firing => ctx.t(
            format!(", {}부터 ({})", ctx.clock(since), ctx.ago(since)),
            format!(" since {} ({})", ctx.clock(since), ctx.ago(since)),
        ),
    };
    if let Some(by) = &a.acknowledged_by {
        let at = a.acknowledged_at_ms.map(|t| ctx.clock(t)).unwrap_or_default();
        tail.push_str(&ctx.t(format!(", {by} 확인({at})"), format!(", acknowledged by {by} at {at}")));
    }
    if a.silenced {
        tail.push_str(&ctx.t(", 사일런스됨".into(), ", silenced".into()));
    }
    format!("[{sev}] {server}: {}{value}{tail}", a.rule_name)
}

pub fn alerts(ctx: &Ctx<'_>) -> Composed {
    let Some(all) = &ctx.facts.alerts else { return ctx.no_data("알림", "alerts") };
    let q = ctx.q;
    let ids: Vec<String> =
        if q.narrowed() { q.scope_any_status(ctx.facts).iter().map(|s| s.id.clone()).collect() } else { Vec::new() };
    let window = q.window.filter(|w| *w != Window::Now).map(|w| w.resolve(ctx.facts.now_ms, ctx.facts.utc_offset_secs));
    let states: Vec<AlertState> = if q.alerts.all {
        vec![AlertState::Firing, AlertState::Pending, AlertState::Resolved]
    } else if q.alerts.states.is_empty() {
        vec![AlertState::Firing]
    } else {
        q.alerts.states.clone()
    };
    let mut picked: Vec<&AlertFact> = all
        .iter()
        .filter(|a| ids.is_empty() || ids.contains(&a.server_id))
        .filter(|a| states.contains(&a.state))
        .filter(|a| q.alerts.severity.as_ref().is_none_or(|s| *s == a.severity))
        .filter(|a| !q.alerts.unacked || a.acknowledged_by.is_none())
        .filter(|a| match (window, a.state) {
            (Some((from, to)), AlertState::Resolved) => a.resolved_at_ms.is_some_and(|t| t >= from && t <= to),
            _ => true,
        })
        .collect();
    picked.sort_by(|a, b| {
        let state = |x: &AlertFact| match x.state {
            AlertState::Firing => 0,
            AlertState::Pending => 1,
            AlertState::Resolved => 2,
        };
        state(a)
            .cmp(&state(b))
            .then(severity_rank(&a.severity).cmp(&severity_rank(&b.severity)))
            .then(a.started_at_ms.cmp(&b.started_at_ms))
    });
    let compute = ctx.t(
        format!("알림 {}건 중 {}건 선택, 심각도와 시작 순 정렬", all.len(), picked.len()),
        format!("Picked {} of {} alerts, sorted by severity and start", picked.len(), all.len()),
    );
    let on =
        if ids.is_empty() { String::new() } else { ids.iter().map(|id| ctx.name(id)).collect::<Vec<_>>().join(", ") };
    if q.alerts.ack && !picked.is_empty() {
        return Composed::new(acks(ctx, &picked), compute);
    }
    if q.alerts.since && picked.len() <= 3 && !picked.is_empty() {
        return Composed::new(since(ctx, &picked), compute);
    }
    let what_ko = states.iter().map(|s| state_name(ctx, *s)).collect::<Vec<_>>().join("/");
    let what_en = what_ko.clone();
    let sev = q.alerts.severity.as_ref().map(|s| format!("{} ", ctx.status(s))).unwrap_or_default();
    let unacked_ko = if q.alerts.unacked { "미확인 " } else { "" };
    let unacked_en = if q.alerts.unacked { "unacknowledged " } else { "" };
    let on_ko = if on.is_empty() { String::new() } else { format!("{on}의 ") };
    let on_en = if on.is_empty() { String::new() } else { format!(" on {on}") };
    if picked.is_empty() {
        let text = ctx.t(
            format!(
                "{}{on_ko}{what_ko} {unacked_ko}{sev}알림이 없습니다 ({}).",
                if q.form == Form::YesNo { "아니요, " } else { "" },
                ctx.as_of()
            ),
            format!(
                "{}o {unacked_en}{sev}alerts {what_en}{on_en} ({}).",
                if q.form == Form::YesNo { "No, n" } else { "N" },
                ctx.as_of()
            ),
        );
        return Composed::new(text, compute);
    }
    let n = picked.len();
    let critical = picked.iter().filter(|a| a.severity == "critical").count();
    let warning = picked.iter().filter(|a| a.severity == "warning").count();
    let lead = if q.form == Form::YesNo { ctx.t("네, ".into(), "Yes: ".into()) } else { String::new() };
    let mut text = ctx.t(
        format!(
            "{lead}{on_ko}{what_ko} {unacked_ko}{sev}알림 {n}건 (심각 {critical}, 경고 {warning}, {}):",
            ctx.as_of()
        ),
        format!(
            "{lead}{n} {unacked_en}{sev}alert{} {what_en}{on_en} ({critical} critical, {warning} warning; {}):",
            if n == 1 { "" } else { "s" },
            ctx.as_of()
        ),
    );
    for a in picked.iter().take(super::fleet::MAX_LISTED) {
        text.push_str(&format!("\n- {}", line(ctx, a)));
    }
    if picked.len() > super::fleet::MAX_LISTED {
        let more = picked.len() - super::fleet::MAX_LISTED;
        text.push_str(&ctx.t(format!("\n외 {more}건"), format!("\nand {more} more")));
    }
    // Pending alerts are worth a word when only firing ones were asked.
    if q.alerts.states.is_empty() && !q.alerts.all {
        let pending: Vec<String> = all
            .iter()
            .filter(|a| a.state == AlertState::Pending && (ids.is_empty() || ids.contains(&a.server_id)))
            .take(10)
            .map(|a| line(ctx, a))
            .collect();
        if !pending.is_empty() {
            text.push_str(&ctx.t(
                format!("\n대기 중 {}건: {}", pending.len(), pending.join("; ")),
                format!("\nPending ({}): {}", pending.len(), pending.join("; ")),
            ));
        }
    }
    Composed::new(text, compute)
}

fn acks(ctx: &Ctx<'_>, picked: &[&AlertFact]) -> String {
    let lines: Vec<String> = picked
        .iter()
        .map(|a| {
            let server = ctx.name(&a.server_id);
            match (&a.acknowledged_by, a.acknowledged_at_ms) {
                (Some(by), at) => {
                    let at = at.map(|t| ctx.clock(t)).unwrap_or_default();
                    ctx.t(
                        format!("{server}의 '{}' 알림은 {by}님이 {at}에 확인했습니다.", a.rule_name),
                        format!("{server}'s \"{}\" alert was acknowledged by {by} at {at}.", a.rule_name),
                    )
                }
                (None, _) => ctx.t(
                    format!("{server}의 '{}' 알림은 아직 아무도 확인하지 않았습니다.", a.rule_name),
                    format!("{server}'s \"{}\" alert has not been acknowledged.", a.rule_name),
                ),
            }
        })
        .collect();
    lines.join("\n")
}

fn since(ctx: &Ctx<'_>, picked: &[&AlertFact]) -> String {
    let lines: Vec<String> = picked
        .iter()
        .map(|a| {
            let server = ctx.name(&a.server_id);
            let at = a.fired_at_ms.unwrap_or(a.started_at_ms);
            let silenced =
                if a.silenced { ctx.t(" (사일런스됨)".into(), " (silenced)".into()) } else { String::new() };
            ctx.t(
                format!(
                    "{server}의 '{}' 알림은 {}부터 발생 중입니다 ({} 째, 조건 시작 {}){silenced}.",
                    a.rule_name,
                    ctx.clock(at),
                    ctx.ago(at),
                    ctx.clock(a.started_at_ms)
                ),
                format!(
                    "{server}'s \"{}\" alert has been firing since {} (for {}; condition first seen {}){silenced}.",
                    a.rule_name,
                    ctx.clock(at),
                    ctx.ago(at),
                    ctx.clock(a.started_at_ms)
                ),
            )
        })
        .collect();
    lines.join("\n")
}

pub fn silences(ctx: &Ctx<'_>) -> Composed {
    let Some(all) = &ctx.facts.silences else { return ctx.no_data("사일런스", "silences") };
    let now = ctx.facts.now_ms;
    let ids: Vec<String> = ctx.q.servers.clone();
    let active: Vec<_> = all
        .iter()
        .filter(|s| s.is_active(now))
        .filter(|s| ids.is_empty() || s.server_id.as_ref().is_some_and(|id| ids.contains(id)))
        .collect();
    let compute = ctx.t(
        format!("사일런스 {}건 중 활성 {}건", all.len(), active.len()),
        format!("{} of {} silences active", active.len(), all.len()),
    );
    if active.is_empty() {
        let (no_ko, no_en) = if ctx.q.form == Form::YesNo { ("아니요, ", "No, n") } else { ("", "N") };
        return Composed::new(
            ctx.t(
                format!("{no_ko}활성 사일런스가 없습니다 ({}).", ctx.as_of()),
                format!("{no_en}o active silences ({}).", ctx.as_of()),
            ),
            compute,
        );
    }
    let lines: Vec<String> = active
        .iter()
        .take(super::fleet::MAX_LISTED)
        .map(|s| {
            let mut target = Vec::new();
            if let Some(id) = &s.server_id {
                target.push(ctx.t(format!("서버 {}", ctx.name(id)), format!("server {}", ctx.name(id))));
            }
            if let Some(r) = &s.rule_id {
                target.push(ctx.t(format!("규칙 {r}"), format!("rule {r}")));
            }
            if let Some(sev) = &s.severity {
                target.push(ctx.t(format!("심각도 {}", ctx.status(sev)), format!("severity {sev}")));
            }
            let muted: Vec<String> = ctx
                .facts
                .alerts
                .iter()
                .flatten()
                .filter(|a| a.state == AlertState::Firing && s.matches(a))
                .map(|a| format!("{} ({})", a.rule_name, ctx.name(&a.server_id)))
                .collect();
            let muted_ko = if muted.is_empty() {
                String::new()
            } else {
                format!(" 지금 가리는 알림: {}.", muted.join(", "))
            };
            let muted_en = if muted.is_empty() { String::new() } else { format!(" Muting now: {}.", muted.join(", ")) };
            let by = if s.created_by.is_empty() { "-".to_owned() } else { s.created_by.clone() };
            ctx.t(
                format!(
                    "- {}: {}까지, \"{}\", 만든 사람 {by}.{muted_ko}",
                    target.join(", "),
                    ctx.clock(s.ends_at_ms),
                    s.comment
                ),
                format!(
                    "- {}: until {}, \"{}\", created by {by}.{muted_en}",
                    target.join(", "),
                    ctx.clock(s.ends_at_ms),
                    s.comment
                ),
            )
        })
        .collect();
    let lead = if ctx.q.form == Form::YesNo { ctx.t("네, ".into(), "Yes: ".into()) } else { String::new() };
    Composed::new(
        ctx.t(
            format!("{lead}활성 사일런스 {}건 ({}):\n{}", active.len(), ctx.as_of(), lines.join("\n")),
            format!(
                "{lead}{} active silence{} ({}):\n{}",
                active.len(),
                if active.len() == 1 { "" } else { "s" },
                ctx.as_of(),
                lines.join("\n")
            ),
        ),
        compute,
    )
}
