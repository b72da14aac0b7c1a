//! The bounded session store behind the hub's `sessionId`: the last turns of each conversation, so a
//! follow-up ("and web-02?") can be read against them. At most `max_sessions` conversations of
//! `max_turns` turns; a conversation idle for `idle_ms` is forgotten; when full, the one idle longest
//! goes first. The caller passes the time: nothing here reads a clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::request::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationLimits {
    pub max_turns: usize,
    pub idle_ms: i64,
    pub max_sessions: usize,
    /// Longer session ids are refused (no conversation is kept for them).
    pub max_id_len: usize,
    /// Questions and answers are kept up to this many characters.
    pub max_text_chars: usize,
}

impl Default for ConversationLimits {
    /// Issue 15's bounds: 10 turns, 30 minutes idle, 1,000 sessions.
    fn default() -> Self {
        ConversationLimits {
            max_turns: 10,
            idle_ms: 30 * 60_000,
            max_sessions: 1_000,
            max_id_len: 128,
            max_text_chars: 2_000,
        }
    }
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub question: String,
    pub answer: String,
    pub at_ms: i64,
}

#[derive(Debug)]
struct Session {
    turns: VecDeque<Turn>,
    last_ms: i64,
    /// Breaks ties between sessions touched in the same millisecond: the earlier one is older.
    seq: u64,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    seq: u64,
}

/// Shared by the HTTP handlers (`Send + Sync`; one short lock per call).
#[derive(Debug)]
pub struct Conversations {
    limits: ConversationLimits,
    inner: Mutex<Inner>,
}

impl Default for Conversations {
    fn default() -> Self {
        Self::new(ConversationLimits::default())
    }
}

impl Conversations {
    pub fn new(limits: ConversationLimits) -> Self {
        Conversations { limits, inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data (every update is one step).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn valid(&self, id: &str) -> bool {
        !id.is_empty() && id.len() <= self.limits.max_id_len
    }

    /// The turns of session `id`, oldest first; empty for an unknown, idle or invalid session.
    pub fn history(&self, id: &str, now_ms: i64) -> Vec<Turn> {
        if !self.valid(id) {
            return Vec::new();
        }
        let mut inner = self.lock();
        let idle = match inner.sessions.get(id) {
            Some(s) if now_ms - s.last_ms > self.limits.idle_ms => true,
            Some(s) => return s.turns.iter().cloned().collect(),
            None => return Vec::new(),
        };
        if idle {
            inner.sessions.remove(id);
        }
        Vec::new()
    }

    /// The earlier questions of session `id`, oldest first: the history [`super::LocalEngine::resolve`] reads.
    pub fn questions(&self, id: &str, now_ms: i64) -> Vec<String> {
        self.history(id, now_ms).into_iter().map(|t| t.question).collect()
    }

    /// The conversation as chat messages (user, assistant, ...), the most recent turns that fit in
    /// `max_chars`, for a remote engine's request.
    pub fn messages(&self, id: &str, now_ms: i64, max_chars: usize) -> Vec<Message> {
        let mut out: Vec<Message> = Vec::new();
        let mut used = 0;
        for t in self.history(id, now_ms).iter().rev() {
            used += t.question.len() + t.answer.len();
            if used > max_chars {
                break;
            }
            out.push(Message::assistant(t.answer.clone()));
            out.push(Message::user(t.question.clone()));
        }
        out.reverse();
        out
    }

    /// Appends a turn to session `id` (creating it; when full, the idle ones go, then the one idle
    /// longest). Returns false for an invalid id.
    pub fn record(&self, id: &str, question: &str, answer: &str, now_ms: i64) -> bool {
        if !self.valid(id) {
            return false;
        }
        let limits = self.limits;
        let clip = |s: &str| s.chars().take(limits.max_text_chars).collect::<String>();
        let turn = Turn { question: clip(question), answer: clip(answer), at_ms: now_ms };
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        if let Some(s) = inner.sessions.get_mut(id) {
            if now_ms - s.last_ms > limits.idle_ms {
                s.turns.clear();
            }
            s.turns.push_back(turn);
            while s.turns.len() > limits.max_turns {
                s.turns.pop_front();
            }
            s.last_ms = now_ms;
            s.seq = seq;
            return true;
        }
        if inner.sessions.len() >= limits.max_sessions {
            inner.sessions.retain(|_, s| now_ms - s.last_ms <= limits.idle_ms);
        }
        while inner.sessions.len() >= limits.max_sessions.max(1) {
            let oldest = inner.sessions.iter().min_by_key(|(_, s)| (s.last_ms, s.seq)).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => inner.sessions.remove(&k),
                None => break,
            };
        }
        let mut turns = VecDeque::with_capacity(limits.max_turns.min(16));
        turns.push_back(turn);
        inner.sessions.insert(id.to_owned(), Session { turns, last_ms: now_ms, seq });
        true
    }

    /// Forgets idle conversations (call from a periodic job; `record` also does when full).
    pub fn sweep(&self, now_ms: i64) {
        let idle = self.limits.idle_ms;
        self.lock().sessions.retain(|_, s| now_ms - s.last_ms <= idle);
    }

    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Role;

    const MIN: i64 = 60_000;

    #[test]
    fn keeps_the_last_ten_turns_oldest_first() {
        let c = Conversations::default();
        for i in 0..13 {
            assert!(c.record("s1", &format!("q{i}"), &format!("a{i}"), i * 1000));
        }
        let q = c.questions("s1", 13_000);
        assert_eq!(q.len(), 10);
        assert_eq!(q.first().map(String::as_str), Some("q3"));
        assert_eq!(q.last().map(String::as_str), Some("q12"));
    }

    #[test]
    fn idle_sessions_are_forgotten_after_thirty_minutes() {
        let c = Conversations::default();
        c.record("s", "q", "a", 0);
        assert_eq!(c.questions("s", 30 * MIN).len(), 1, "exactly 30 minutes is still live");
        assert!(c.questions("s", 30 * MIN + 1).is_empty());
        assert!(c.is_empty(), "reading an idle session drops it");
        c.record("t", "q1", "a", 0);
        c.record("t", "q2", "a", 31 * MIN);
        assert_eq!(c.questions("t", 31 * MIN), ["q2"], "a turn after the idle time starts afresh");
        c.record("u", "q", "a", 0);
        c.sweep(40 * MIN);
        assert_eq!(c.len(), 1, "sweep drops u, keeps t");
    }

    #[test]
    fn at_most_max_sessions_oldest_evicted_first() {
        let c = Conversations::new(ConversationLimits { max_sessions: 3, ..ConversationLimits::default() });
        c.record("a", "q", "x", 1);
        c.record("b", "q", "x", 2);
        c.record("c", "q", "x", 3);
        c.record("a", "q2", "x", 4); // a is now the most recent
        c.record("d", "q", "x", 5); // evicts b, the one idle longest
        assert_eq!(c.len(), 3);
        assert!(c.questions("b", 5).is_empty());
        assert_eq!(c.questions("a", 5).len(), 2);
        assert_eq!(c.questions("d", 5).len(), 1);
        // Same millisecond: the earlier-touched session is the older.
        c.record("e", "q", "x", 5);
        assert!(c.questions("c", 5).is_empty());
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn the_default_bound_is_a_thousand_sessions() {
        let c = Conversations::default();
        for i in 0..1_200 {
            c.record(&format!("s{i}"), "q", "a", i);
        }
        assert_eq!(c.len(), 1_000);
        assert!(c.questions("s199", 1_200).is_empty());
        assert_eq!(c.questions("s200", 1_200).len(), 1);
    }

    #[test]
    fn bad_ids_and_long_text_are_bounded() {
        let c = Conversations::default();
        assert!(!c.record("", "q", "a", 0));
        assert!(!c.record(&"x".repeat(129), "q", "a", 0));
        assert!(c.is_empty());
        c.record("s", &"q".repeat(5_000), &"a".repeat(5_000), 0);
        let h = c.history("s", 0);
        assert_eq!((h[0].question.len(), h[0].answer.len()), (2_000, 2_000));
    }

    #[test]
    fn messages_alternate_and_fit_the_budget() {
        let c = Conversations::default();
        c.record("s", "first question", "first answer", 0);
        c.record("s", "second question", "second answer", 1);
        let m = c.messages("s", 2, 10_000);
        let roles: Vec<Role> = m.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User, Role::Assistant]);
        assert_eq!(m[0].content, "first question");
        let m = c.messages("s", 2, 40);
        assert_eq!(m.len(), 2, "only the latest turn fits");
        assert_eq!(m[0].content, "second question");
    }
}
