//! From one question to a [`Question`]: take the names, window and numbers out, read the filters and
//! metrics, then decide the family by its cue words in a fixed order, from the most specific vocabulary
//! (silences, budget, gateway, checks) to the most general (a summary, a bare metric). The order is
//! the design: a question about "egress this month" mentions traffic, and one about "why api-01 fired"
//! mentions an alert, but each belongs to the narrower family.

use super::entities::{self, Found};
use super::filters::{self, Filter};
use super::lexicon::{Lexicon, lexicon};
use super::names::Names;
use super::numbers::{self, Num};
use super::question::{Form, Question};
use super::text::{CueView, Lang, Text};
use super::time::{self, Window};
use super::{Facts, Intent, Metric};

/// How the intent was decided, which sets the base confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A family's own cue words.
    Cue,
    /// Names and words without a family cue ("web-01 cpu").
    Entities,
    /// Nothing but a metric, a window or a usage word.
    Bare,
    /// Not understood.
    Nothing,
}

/// A follow-up's shape when it is only a word: "why?", "since when?", "who acked it?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    No,
    Why,
    Since,
}

/// One question parsed on its own, with what follow-up resolution needs.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub q: Question,
    pub basis: Basis,
    /// At most four words.
    pub short: bool,
    /// "and", "what about", "instead", "그럼", "it", "그중": points at an earlier question.
    pub refers: bool,
    pub bare: Bare,
    pub numbers: Vec<Num>,
    /// Budget words that ask for the projection ("projection", "예상").
    pub projection: bool,
}

/// Parses one question; `names` indexes `facts`' names (see [`Names::new`]).
pub fn parse(query: &str, facts: &Facts, names: &Names) -> Parsed {
    let lx = lexicon();
    let mut text = Text::new(query, &names.known_words);
    let found = entities::find(&mut text, facts, names);
    let window = time::take_window(&mut text);
    let numbers = numbers::take_numbers(&mut text);
    let cues = text.cues();
    let metrics = filters::metrics(&cues);
    let mut filter = filters::filter(&text, &cues, &names.providers);
    filter.locations.extend(found.locations.iter().cloned());
    let form = form(&cues, text.lang, lx);

    let mut q = Question::new(Intent::Help, text.lang);
    q.servers = found.servers.clone();
    q.unknown = found.unknown.clone();
    q.suggestions = found.suggestions.clone();
    q.checks = found.checks.clone();
    q.engines = found.engines.clone();
    q.metric = metrics.first().copied();
    q.window = window;
    q.form = form;
    q.uptime = cues.has(&lx.uptime);
    q.group_by = super::slots::group_by(&cues);
    types_or_servers(&mut q, &found, &mut filter, form, &cues, lx);
    q.filter = filter;

    let words = text.lower.split_whitespace().count();
    let refers = cues.has(&lx.followup) || cues.has(&lx.pronoun);
    let bare = bare(&cues, lx, words);
    let (intent, basis) = decide(&q, &cues, lx, &numbers, &found, words, &names.hub_ids);
    q.intent = intent;
    q.help_asked = intent == Intent::Help && basis == Basis::Cue;
    q.action = intent == Intent::Help && asks_action(&cues, text.lang, lx);
    super::slots::fill(&mut q, &cues, lx, &numbers, &metrics);
    q.confidence = confidence(&q, basis, &text, &found);
    if !q.unknown.is_empty() {
        q.clarify = q.suggestions.clone();
        if q.clarify.is_empty() {
            q.clarify = facts.servers.iter().take(3).map(|s| s.name.clone()).collect();
        }
    }
    let projection = cues.has(&lx.forecast) || cues.has(&lx.forecast_weak);
    Parsed { q, basis, short: words <= 4, refers, bare, numbers, projection }
}

/// Count, yes/no, list or plain.
fn form(cues: &CueView, lang: Lang, lx: &Lexicon) -> Form {
    if cues.has(&lx.count) {
        return Form::Count;
    }
    let wh = ["what", "which", "who", "when", "where", "why", "how"];
    let yes_no = match lang {
        Lang::En => {
            !cues.starts_with_any(&wh)
                && (cues.starts_with_any(&[
                    "is", "are", "any", "do", "doe", "did", "ha", "have", "was", "were", "can", "will", "am", "should",
                    "anything", "anyone",
                ]) || cues.stems.iter().any(|w| w == "any"))
        }
        Lang::Ko => {
            let c = cues.compact.trim_end_matches(['?', '.', '!', ' ', super::text::TAKEN]);
            let ends = [
                "있어",
                "있나",
                "있니",
                "있냐",
                "있음",
                "있습니까",
                "있을까",
                "있나요",
                "있어요",
                "있을까요",
                "있는지",
                "있었어",
                "있었나",
                "있었나요",
                "없어",
                "없나",
                "없니",
                "없지",
                "없나요",
                "없어요",
                "있지",
            ];
            let wh_ko = ["뭐", "무슨", "어떤", "어느", "어디", "언제", "누가", "누구", "왜", "몇", "얼마"];
            ends.iter().any(|e| c.ends_with(e)) && !wh_ko.iter().any(|w| c.contains(w))
        }
    };
    if yes_no {
        Form::YesNo
    } else if cues.has(&lx.list) {
        Form::List
    } else {
        Form::Plain
    }
}

/// "backup" is both a server and a type: a count or a list of "backup servers" means the type, anything
/// else the server.
fn types_or_servers(q: &mut Question, found: &Found, filter: &mut Filter, form: Form, cues: &CueView, lx: &Lexicon) {
    let plural = cues
        .spaced
        .split_whitespace()
        .any(|w| ["servers", "boxes", "machines", "hosts"].iter().any(|p| w.ends_with(p)) || w.contains("서버들"));
    let listy =
        matches!(form, Form::Count | Form::List) && (plural || cues.has(&lx.count) || cues.compact.contains("목록"));
    for (ty, same_id) in &found.types {
        match same_id {
            Some(id) if !listy => {
                if !q.servers.contains(id) {
                    q.servers.push(id.clone());
                }
            }
            _ => filter.types.push(ty.clone()),
        }
    }
}

fn bare(cues: &CueView, lx: &Lexicon, words: usize) -> Bare {
    if words > 3 {
        return Bare::No;
    }
    let only = |family: &super::lexicon::Cues| cues.has(family);
    if only(&lx.explain) && !cues.has(&lx.alerts) {
        Bare::Why
    } else if only(&lx.since) && !cues.has(&lx.alerts) {
        Bare::Since
    } else {
        Bare::No
    }
}

/// The family, by cue words in order of specificity (see the module doc).
/// "restart web-01", "web-01 재시작해줘": an order, which the assistant (read-only) cannot carry out.
pub fn asks_action(c: &CueView, lang: Lang, lx: &Lexicon) -> bool {
    match lang {
        Lang::En => c.words.first().is_some_and(|w| lx.action.items.iter().any(|a| a.raw == *w)),
        Lang::Ko => c.has(&lx.action),
    }
}

/// A question that is only a request to list servers ("서버 목록", "list every server").
fn server_noun_only(c: &CueView) -> bool {
    c.compact.contains("목록") || c.stems.iter().any(|w| w == "list" || w == "every")
}

fn decide(
    q: &Question,
    c: &CueView,
    lx: &Lexicon,
    nums: &[Num],
    found: &Found,
    words: usize,
    hub_ids: &[String],
) -> (Intent, Basis) {
    let has = |cues: &super::lexicon::Cues| c.has(cues);
    let named = !q.servers.is_empty();
    let metric = q.metric;
    let filtered = !q.filter.is_empty();
    let window = q.window.filter(|w| *w != Window::Now);
    let alerts = has(&lx.alerts);
    let status_alarm = q.filter.statuses.iter().any(|s| s == "warning" || s == "critical");
    let threshold = nums.iter().find(|n| !n.size && !n.counted && (n.cmp.is_some() || (n.percent && metric.is_some())));
    let future =
        ["will", "when", "soon", "going", "next", "until", "till", "how long", "예상", "언제", "곧", "다음", "까지"]
            .iter()
            .any(|w| c.spaced.contains(w));
    let value_asked = has(&lx.value_words) || c.spaced.contains("how full") || c.compact.contains("얼마나찼");

    let named = named || !q.unknown.is_empty();
    if words == 0 || !c.spaced.chars().any(char::is_alphanumeric) && !named {
        return (Intent::Help, Basis::Nothing);
    }
    // "help" is about the assistant; "do any machines need my help?" is about the servers.
    if has(&lx.help) && !named && metric.is_none() && !alerts && !has(&lx.server_nouns) {
        return (Intent::Help, Basis::Cue);
    }
    // "What's the weather?": not a monitoring question, whatever names it happens to contain.
    if has(&lx.out_of_scope) && !named && metric.is_none() {
        return (Intent::Help, Basis::Nothing);
    }
    // "restart web-01": the assistant reads, it does not act.
    if asks_action(c, q.lang, lx) {
        return (Intent::Help, Basis::Cue);
    }
    if has(&lx.silence) {
        return (Intent::Silences, Basis::Cue);
    }
    let month = has(&lx.budget_month) || q.window == Some(Window::ThisMonth);
    let traffic_this_month = month && has(&lx.budget_traffic) && !named;
    let hub_traffic = has(&lx.budget_traffic) && q.servers.iter().any(|id| hub_ids.contains(id));
    let vm_hours =
        c.stems.iter().any(|w| w == "vm") && (c.stems.iter().any(|w| w == "hour") || c.compact.contains("시간"));
    if has(&lx.budget)
        || traffic_this_month
        || hub_traffic
        || vm_hours
        || (has(&lx.ai_quota) && !c.compact.contains("질의"))
    {
        return (Intent::Budget, Basis::Cue);
    }
    if has(&lx.gateway) || !q.engines.is_empty() {
        return (Intent::Gateway, Basis::Cue);
    }
    let check_words = has(&lx.checks) && !(named && c.find(&lx.checks) == Some("체크"));
    if check_words || !found.checks.is_empty() {
        return (Intent::Checks, Basis::Cue);
    }
    let triage = has(&lx.triage);
    if has(&lx.explain) && !triage {
        return (Intent::Explain, Basis::Cue);
    }
    let fired_words = ["fired", "triggered", "발생한", "발생했", "울린", "떴던"].iter().any(|w| c.spaced.contains(w));
    if alerts && window.is_some() && fired_words {
        return (Intent::Events, Basis::Cue);
    }
    if (alerts || has(&lx.ack)) && (has(&lx.ack) || has(&lx.since) || has(&lx.alert_states)) {
        return (Intent::Alerts, Basis::Cue);
    }
    if has(&lx.ack) || (has(&lx.since) && status_alarm && named) {
        return (Intent::Alerts, Basis::Cue);
    }
    if q.uptime && named {
        return (Intent::ServerMetric, Basis::Cue);
    }
    let went_offline = ["when did", "when was", "언제"].iter().any(|w| c.spaced.contains(w))
        && q.filter.statuses.iter().any(|s| s == "offline");
    if has(&lx.events) || went_offline {
        return (Intent::Events, Basis::Cue);
    }
    if has(&lx.events_weak) && metric.is_none() && !named && window.is_some() {
        return (Intent::Events, Basis::Bare);
    }
    if alerts {
        return (Intent::Alerts, Basis::Cue);
    }
    let growth_metric = matches!(metric, Some(Metric::Disk | Metric::Memory)) || has(&lx.free_space);
    // "제일 꽉 찬 서버" is already full: a ranking, not a forecast.
    let already_full = has(&lx.rank) && ["꽉찬", "가득찬", "다찬"].iter().any(|w| c.compact.contains(w));
    let full_word = c.stems.iter().any(|w| w == "full") || c.compact.contains("다차") || c.compact.contains("꽉차");
    if (has(&lx.forecast) && !already_full)
        || (has(&lx.forecast_weak) && (growth_metric || full_word) && future && !value_asked)
    {
        return (Intent::Forecast, Basis::Cue);
    }
    if q.uptime {
        return (Intent::ServerMetric, Basis::Cue);
    }
    let agg_words = has(&lx.average) || has(&lx.maximum) || has(&lx.minimum);
    let which = ["which", "who", "어떤", "어느", "어디", "누가"].iter().any(|w| c.spaced.contains(w));
    if agg_words && (window.is_some() || (named && !which)) {
        return (Intent::Aggregate, Basis::Cue);
    }
    if has(&lx.trend) || (has(&lx.trend_weak) && (metric.is_some() || window.is_some()) && (named || metric.is_some()))
    {
        return (Intent::Trend, Basis::Cue);
    }
    if threshold.is_some() {
        return (Intent::AboveThreshold, Basis::Cue);
    }
    // "show cpu for all servers": every server's figure, ranked.
    let every = [
        "all servers",
        "every server",
        "each server",
        "all machines",
        "per server",
        "서버별",
        "모든 서버",
        "전체 서버",
    ]
    .iter()
    .any(|w| c.spaced.contains(w) || c.compact.contains(&w.replace(' ', "")));
    if every && metric.is_some() && !agg_words && q.form != Form::Count && !named {
        return (Intent::TopN, Basis::Cue);
    }

    let groups = q.filter.types.len() >= 2;
    if has(&lx.compare) || q.servers.len() >= 2 || groups {
        return (Intent::Compare, Basis::Cue);
    }
    if triage && !(q.form == Form::Count && filtered) {
        return (Intent::Triage, Basis::Cue);
    }
    if agg_words && !which {
        return (Intent::Aggregate, Basis::Cue);
    }
    let counted = nums.iter().any(|n| n.counted || (!n.percent && n.cmp.is_none() && !n.size));
    if has(&lx.rank)
        || (has(&lx.rank_weak) && metric.is_some() && (counted || c.compact.contains("서버") || has(&lx.server_nouns)))
    {
        if value_asked
            && !which
            && !named
            && metric.is_some()
            && !c.spaced.contains("server")
            && !c.compact.contains("서버")
        {
            return (Intent::Aggregate, Basis::Cue);
        }
        return (Intent::TopN, Basis::Cue);
    }
    if named {
        if window.is_some() && metric.is_some() {
            return (Intent::Trend, Basis::Entities);
        }
        let basis = if has(&lx.summary) || value_asked { Basis::Cue } else { Basis::Entities };
        return (if metric.is_some() { Intent::ServerMetric } else { Intent::ServerStatus }, basis);
    }
    if window.is_some() && metric.is_some() {
        return (Intent::Trend, Basis::Entities);
    }
    // "are all servers up?", "모두 정상이야?": whether everything is fine, which the summary answers.
    let all_words = c.stems.iter().any(|w| matches!(w.as_str(), "all" | "every" | "everything" | "everyone"))
        || ["모두", "전부", "다 ", "다정상", "다살아", "다잘"]
            .iter()
            .any(|w| c.spaced.contains(w) || c.compact.contains(w));
    let fine_words = q.filter.statuses.iter().all(|s| s == "online")
        && (q.filter.statuses.iter().any(|s| s == "online")
            || c.words
                .last()
                .is_some_and(|w| matches!(w.as_str(), "up" | "ok" | "okay" | "fine" | "running" | "healthy")));
    if q.form == Form::YesNo && all_words && fine_words && !named {
        return (Intent::FleetSummary, Basis::Cue);
    }
    let server_noun = has(&lx.server_nouns);
    // "servers per provider", "환경별 서버 수": counts by group.
    if q.group_by.is_some() && server_noun && !named {
        return (Intent::ServerList, Basis::Cue);
    }
    // "how's the database doing", "웹 서버들 상태 어때?": a summary of the filtered part of the fleet.
    if filtered && q.filter.statuses.is_empty() && q.form == Form::Plain && metric.is_none() && has(&lx.summary) {
        return (Intent::FleetSummary, Basis::Cue);
    }
    // "디비 서버 cpu 사용률": a metric across a filtered group reads as its figures, not a list.
    if filtered && metric.is_some() && matches!(q.form, Form::Plain | Form::List) && q.filter.statuses.is_empty() {
        return (Intent::Aggregate, Basis::Entities);
    }
    let listing = matches!(q.form, Form::Count | Form::List | Form::YesNo) && server_noun && !has(&lx.summary);
    if filtered || (q.form == Form::Count && server_noun) || listing || (has(&lx.list) && c.compact.contains("목록"))
    {
        // A filter alone ("and for the staging servers only?") narrows an earlier question.
        let basis = if q.form == Form::Plain && !server_noun_only(c) { Basis::Entities } else { Basis::Cue };
        return (Intent::ServerList, basis);
    }
    if has(&lx.summary) || server_noun {
        return (Intent::FleetSummary, Basis::Cue);
    }
    if metric.is_some() {
        return (Intent::Aggregate, Basis::Bare);
    }
    if window.is_some() || has(&lx.usage_word) {
        return (Intent::Clarify, Basis::Bare);
    }
    if !q.unknown.is_empty() {
        return (Intent::ServerStatus, Basis::Entities);
    }
    if has(&lx.greeting) {
        return (Intent::Help, Basis::Cue);
    }
    (Intent::Help, Basis::Nothing)
}

/// Base confidence by how the intent was decided, then lowered for what was assumed or not understood.
fn confidence(q: &Question, basis: Basis, text: &Text, found: &Found) -> f64 {
    let base = match (basis, q.intent) {
        (Basis::Nothing, _) => 0.2,
        (Basis::Cue, Intent::Help) => 0.9,
        (_, Intent::Clarify) => 0.35,
        (Basis::Cue, _) => 0.92,
        (Basis::Entities, _) => 0.85,
        (Basis::Bare, _) => 0.62,
    };
    let mut c = base;
    if q.metric_defaulted {
        c -= 0.15;
    }
    c -= 0.05 * (text.corrections + found.fuzzy).min(3) as f64;
    // Words the engine does not know at all weigh the answer down.
    let vocab = super::lexicon::vocabulary();
    let leftover: Vec<&str> = text.work.split_whitespace().filter(|w| !w.starts_with(super::text::TAKEN)).collect();
    let unknown = leftover
        .iter()
        .filter(|w| {
            w.is_ascii()
                && w.chars().all(|ch| ch.is_ascii_alphabetic())
                && !vocab.contains(**w)
                && !vocab.contains(&super::text::stem(w))
        })
        .count();
    if !leftover.is_empty() {
        c -= 0.25 * unknown as f64 / leftover.len() as f64;
    }
    if !q.unknown.is_empty() {
        c = c.min(0.45);
    }
    if q.help_asked {
        // Asking what the assistant can do is understood, whatever else the words were.
        c = c.max(0.6);
    }
    (c.clamp(0.05, 0.99) * 100.0).round() / 100.0
}
