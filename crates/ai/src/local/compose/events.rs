//! "What happened": events in a window, in time order, optionally for some servers or of some kinds
//! ("restarts", "anomalies", "went down"), led by a direct answer when the question asks when.

use super::super::question::Form;
use super::super::{EventFact, EventKind};
use super::{Composed, Ctx};

/// Lines listed at most; the rest are counted.
const MAX_LINES: usize = 12;

fn kind_name(ctx: &Ctx<'_>, e: &EventFact) -> String {
    let detail = if e.detail.is_empty() { String::new() } else { format!(" ({})", e.detail) };
    let check = e.check.clone().unwrap_or_default();
    match e.kind {
        EventKind::StatusChanged => {
            let from = e.from.as_deref().map(|s| ctx.status(s)).unwrap_or_default();
            let to = e.to.as_deref().map(|s| ctx.status(s)).unwrap_or_default();
            format!("{from} → {to}{detail}")
        }
        EventKind::AlertFired => ctx.t(format!("알림 발생{detail}"), format!("alert fired{detail}")),
        EventKind::AlertResolved => ctx.t(format!("알림 해결{detail}"), format!("alert resolved{detail}")),
        EventKind::Anomaly => ctx.t(format!("이상 징후{detail}"), format!("anomaly{detail}")),
        EventKind::Restart => ctx.t(format!("재시작{detail}"), format!("restarted{detail}")),
        EventKind::ServerAdded => ctx.t(format!("서버 추가{detail}"), format!("server added{detail}")),
        EventKind::ServerRemoved => ctx.t(format!("서버 제거{detail}"), format!("server removed{detail}")),
        EventKind::CheckDown => ctx.t(format!("체크 {check} 실패{detail}"), format!("check {check} down{detail}")),
        EventKind::CheckUp => ctx.t(format!("체크 {check} 복구"), format!("check {check} up again")),
    }
}

fn subject<'a>(ctx: &'a Ctx<'_>, e: &'a EventFact) -> &'a str {
    match (&e.server_id, &e.check) {
        (Some(id), _) => ctx.name(id),
        (None, Some(check)) => check,
        _ => "-",
    }
}

pub fn events(ctx: &Ctx<'_>) -> Composed {
    let window = ctx.q.window_or_default().resolve(ctx.facts.now_ms, ctx.facts.utc_offset_secs);
    let Some(all) = &ctx.facts.events else { return ctx.no_data("이벤트", "events").window(window) };
    let ids: Vec<String> = if ctx.q.servers.is_empty() && ctx.q.filter.is_empty() {
        Vec::new()
    } else {
        ctx.scope().iter().map(|s| s.id.clone()).collect()
    };
    let kinds = &ctx.q.event_kinds;
    let picked: Vec<&EventFact> = all
        .iter()
        .filter(|e| e.at_ms >= window.0 && e.at_ms <= window.1)
        .filter(|e| ids.is_empty() || e.server_id.as_ref().is_some_and(|s| ids.contains(s)))
        .filter(|e| kinds.is_empty() || kinds.contains(&e.kind))
        .filter(|e| match (&ctx.q.event_to, e.kind) {
            (Some(to), EventKind::StatusChanged) => e.to.as_deref() == Some(to.as_str()),
            _ => true,
        })
        .collect();
    let label = ctx.q.window_or_default().phrase(ctx.lang);
    let span = ctx.range(window);
    let compute = ctx.t(
        format!("이벤트 {}건 중 {}건 선택 ({span})", all.len(), picked.len()),
        format!("Picked {} of {} events ({span})", picked.len(), all.len()),
    );
    let who = if ids.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = ids.iter().map(|id| ctx.name(id)).collect();
        ctx.t(format!("{} ", names.join(", ")), format!(" on {}", names.join(", ")))
    };
    if picked.is_empty() {
        let text = ctx.t(
            format!(
                "{}{label} ({span}) {who}해당하는 이벤트가 없습니다.",
                if ctx.q.form == Form::YesNo { "아니요, " } else { "" }
            ),
            format!(
                "{}o matching events{who} {label} ({span}).",
                if ctx.q.form == Form::YesNo { "No, n" } else { "N" }
            ),
        );
        return Composed::new(text, compute).window(window);
    }
    let mut text = String::new();
    // "When did worker-01 go offline?": the answer first.
    if (ctx.q.event_to.is_some() || kinds.len() == 1)
        && !ids.is_empty()
        && let Some(last) = picked.last()
    {
        let what = kind_name(ctx, last);
        text.push_str(&ctx.t(
            format!("{}: {} {} ({} 전).\n", subject(ctx, last), ctx.clock(last.at_ms), what, ctx.ago(last.at_ms)),
            format!("{}: {} at {} ({} ago).\n", subject(ctx, last), what, ctx.clock(last.at_ms), ctx.ago(last.at_ms)),
        ));
    }
    let lead = if ctx.q.form == Form::YesNo { ctx.t("네, ".into(), "Yes: ".into()) } else { String::new() };
    text.push_str(&ctx.t(
        format!("{lead}{label} ({span}) {who}이벤트 {}건:", picked.len()),
        format!("{lead}{} event{}{who} {label} ({span}):", picked.len(), if picked.len() == 1 { "" } else { "s" }),
    ));
    let skipped = picked.len().saturating_sub(MAX_LINES);
    for e in picked.iter().skip(skipped) {
        text.push_str(&format!("\n- {} {}: {}", ctx.clock(e.at_ms), subject(ctx, e), kind_name(ctx, e)));
    }
    if skipped > 0 {
        text.push_str(&ctx.t(format!("\n(이전 {skipped}건 생략)"), format!("\n({skipped} earlier not shown)")));
    }
    Composed::new(text, compute).window(window)
}
