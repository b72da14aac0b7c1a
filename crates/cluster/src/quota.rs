//! Per-provider AI quotas shared by every hub: requests and tokens per minute (a sliding 60-second
//! window in one-second buckets, as the `ai` crate's local `Budget` slides its window) and per day
//! (a window whose bounds the caller gives, e.g. a Pacific day for Gemini). One script checks every
//! window and takes from all of them at once, so the sum over all hubs never exceeds a limit: N
//! concurrent reservers for a limit of N get exactly N grants.
//!
//! A reservation takes the caller's token estimate; [`Quota::settle`] replaces it with the tokens the
//! provider reported, [`Quota::release`] gives everything back when the call never went out. Request
//! counts are exact; token windows are exact for the estimates, and a call that used more than its
//! estimate can take a window past its limit after the fact (as with the local budget), which later
//! reservations then wait for. As locally, a request larger than a whole token budget goes through
//! alone (when nothing else is in that window) rather than waiting forever.
//!
//! Fallback: on `Err` the hub takes from its local per-engine `Budget` (`ai::quota`), as without
//! Redis; calls made that way can be recorded once Redis is back with
//! [`QuotaLimits::unlimited`], so the shared windows count them.

use std::time::Duration;

use crate::Cluster;
use crate::error::{Error, Result};
use crate::keys::check_name;

/// A day window: `[start_ms, end_ms)` in ms since the epoch, e.g. midnight to midnight Pacific.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A provider's limits; `None` (or 0) is no limit on that window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
    pub requests_per_day: Option<u64>,
    pub tokens_per_day: Option<u64>,
    /// The day the per-day limits apply to.
    pub day: DayWindow,
}

impl QuotaLimits {
    /// No limit on any window: records usage only (calls made while Redis was down).
    pub fn unlimited(day: DayWindow) -> Self {
        Self { requests_per_minute: None, tokens_per_minute: None, requests_per_day: None, tokens_per_day: None, day }
    }
}

/// Which window refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaWindow {
    MinuteRequests,
    MinuteTokens,
    DayRequests,
    DayTokens,
}

/// The outcome of [`Quota::reserve`].
#[derive(Debug, PartialEq, Eq)]
pub enum Reserve {
    /// Taken from every window; settle or release it when the call is done.
    Granted(Reservation),
    /// `window` is full; it frees up enough after `retry_after` (the day's end for day windows).
    Exhausted { window: QuotaWindow, retry_after: Duration },
}

/// What one grant took, to correct later. Not `Clone`: settled or released once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "settle or release a reservation so the token windows track real use"]
pub struct Reservation {
    provider: String,
    /// The second (Redis' clock) whose bucket holds it.
    second: i64,
    day_start_ms: i64,
    requests: u64,
    tokens: u64,
}

impl Reservation {
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The token estimate taken.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }
}

/// Current use of a provider's windows, across hubs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    pub minute_requests: u64,
    pub minute_tokens: u64,
    pub day_requests: u64,
    pub day_tokens: u64,
}

/// Minute buckets are hash fields `r:<second>` and `t:<second>`; a bucket older than 60 s is
/// removed as it is seen. Returns `{1, second, 0}` on a grant, `{0, window, wait_ms}` on a refusal
/// (window 1-4: minute requests, minute tokens, day requests, day tokens).
const RESERVE: &str = r"
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now_ms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local req, tok = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, rpd, tpd = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local day_end = tonumber(ARGV[7])
local d = redis.call('HMGET', KEYS[2], 'r', 't')
local dr, dt = tonumber(d[1]) or 0, tonumber(d[2]) or 0
local day_wait = math.max(day_end - now_ms, 1000)
if rpd > 0 and dr + req > rpd then return {0, 3, day_wait} end
if tpd > 0 and dt > 0 and dt + tok > tpd then return {0, 4, day_wait} end
local h = redis.call('HGETALL', KEYS[1])
local rs, ts, secs, mr, mt = {}, {}, {}, 0, 0
for i = 1, #h, 2 do
  local s = tonumber(string.sub(h[i], 3))
  local v = tonumber(h[i + 1]) or 0
  if s == nil or s <= sec - 60 then
    redis.call('HDEL', KEYS[1], h[i])
  else
    if rs[s] == nil then rs[s] = 0; ts[s] = 0; table.insert(secs, s) end
    if string.sub(h[i], 1, 1) == 'r' then rs[s] = rs[s] + v; mr = mr + v else ts[s] = ts[s] + v; mt = mt + v end
  end
end
table.sort(secs)
local function wait(used, want, limit, per)
  local freed = 0
  for _, s in ipairs(secs) do
    freed = freed + per[s]
    if used - freed <= 0 or used - freed + want <= limit then return math.max((s + 60) * 1000 - now_ms, 1) end
  end
  return 60000
end
if rpm > 0 and mr + req > rpm then return {0, 1, wait(mr, req, rpm, rs)} end
if tpm > 0 and mt > 0 and mt + tok > tpm then return {0, 2, wait(mt, tok, tpm, ts)} end
redis.call('HINCRBY', KEYS[1], 'r:' .. sec, req)
redis.call('HINCRBY', KEYS[1], 't:' .. sec, tok)
redis.call('PEXPIRE', KEYS[1], 61000)
redis.call('HINCRBY', KEYS[2], 'r', req)
redis.call('HINCRBY', KEYS[2], 't', tok)
redis.call('PEXPIREAT', KEYS[2], day_end + 3600000)
return {1, sec, 0}
";

/// Adds `ARGV[2]` requests and `ARGV[3]` tokens (either may be negative) to the reservation's
/// minute bucket `ARGV[1]` and its day, never below zero, and only where the window still exists.
const ADJUST: &str = r"
local function adjust(key, field, delta)
  if delta == 0 or redis.call('HEXISTS', key, field) == 0 then return end
  if redis.call('HINCRBY', key, field, delta) < 0 then redis.call('HSET', key, field, 0) end
end
local dr, dt = tonumber(ARGV[2]), tonumber(ARGV[3])
adjust(KEYS[1], 'r:' .. ARGV[1], dr)
adjust(KEYS[1], 't:' .. ARGV[1], dt)
adjust(KEYS[2], 'r', dr)
adjust(KEYS[2], 't', dt)
return 1
";

/// `{minute requests, minute tokens, day requests, day tokens}` now.
const USAGE: &str = r"
local sec = tonumber(redis.call('TIME')[1])
local h = redis.call('HGETALL', KEYS[1])
local mr, mt = 0, 0
for i = 1, #h, 2 do
  local s = tonumber(string.sub(h[i], 3))
  if s ~= nil and s > sec - 60 then
    if string.sub(h[i], 1, 1) == 'r' then mr = mr + tonumber(h[i + 1]) else mt = mt + tonumber(h[i + 1]) end
  end
end
local d = redis.call('HMGET', KEYS[2], 'r', 't')
return {mr, mt, tonumber(d[1]) or 0, tonumber(d[2]) or 0}
";

/// Quotas by provider; cheap to clone.
#[derive(Clone)]
pub struct Quota {
    cluster: Cluster,
    reserve: redis::Script,
    adjust: redis::Script,
    usage: redis::Script,
}

fn limit(v: Option<u64>) -> u64 {
    v.unwrap_or(0)
}

impl Quota {
    pub(crate) fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            reserve: redis::Script::new(RESERVE),
            adjust: redis::Script::new(ADJUST),
            usage: redis::Script::new(USAGE),
        }
    }

    fn keys(&self, provider: &str, day: &DayWindow) -> Result<(String, String)> {
        check_name("provider", provider)?;
        if day.end_ms <= day.start_ms {
            return Err(Error::InvalidInput("a day window must end after it starts".into()));
        }
        let k = &self.cluster.inner.keys;
        Ok((k.named("q", &format!("{provider}:m")), k.named("q", &format!("{provider}:d:{}", day.start_ms))))
    }

    /// Takes `requests` and an estimate of `tokens` from every window of `provider` (a name such
    /// as `gemini`), or says which window is full and for how long.
    pub async fn reserve(&self, provider: &str, requests: u64, tokens: u64, limits: &QuotaLimits) -> Result<Reserve> {
        let (minute, day) = self.keys(provider, &limits.day)?;
        let mut inv = self.reserve.prepare_invoke();
        inv.key(&minute)
            .key(&day)
            .arg(requests)
            .arg(tokens)
            .arg(limit(limits.requests_per_minute))
            .arg(limit(limits.tokens_per_minute))
            .arg(limit(limits.requests_per_day))
            .arg(limit(limits.tokens_per_day))
            .arg(limits.day.end_ms);
        let (granted, a, b): (i64, i64, i64) = self.cluster.inner.conn.script(&inv).await?;
        if granted == 1 {
            return Ok(Reserve::Granted(Reservation {
                provider: provider.to_owned(),
                second: a,
                day_start_ms: limits.day.start_ms,
                requests,
                tokens,
            }));
        }
        let window = match a {
            1 => QuotaWindow::MinuteRequests,
            2 => QuotaWindow::MinuteTokens,
            3 => QuotaWindow::DayRequests,
            4 => QuotaWindow::DayTokens,
            other => return Err(Error::Internal(format!("quota script returned window {other}"))),
        };
        let retry_after = Duration::from_millis(u64::try_from(b.max(1)).unwrap_or(1));
        Ok(Reserve::Exhausted { window, retry_after })
    }

    /// Replaces the reservation's token estimate with `actual_tokens` (what the provider reported)
    /// in the minute bucket it was taken from (while that is still in the window) and in its day.
    /// `Err`: the windows keep the estimate, which is what the local budget does without a report.
    pub async fn settle(&self, reservation: Reservation, actual_tokens: u64) -> Result<()> {
        let delta = i128::from(actual_tokens) - i128::from(reservation.tokens);
        self.adjust(&reservation, 0, delta).await
    }

    /// Gives the whole reservation back: the call never reached the provider.
    pub async fn release(&self, reservation: Reservation) -> Result<()> {
        let requests = -i128::from(reservation.requests);
        let tokens = -i128::from(reservation.tokens);
        self.adjust(&reservation, requests, tokens).await
    }

    async fn adjust(&self, r: &Reservation, requests: i128, tokens: i128) -> Result<()> {
        if requests == 0 && tokens == 0 {
            return Ok(());
        }
        let day = DayWindow { start_ms: r.day_start_ms, end_ms: r.day_start_ms.saturating_add(1) };
        let (minute, day) = self.keys(&r.provider, &day)?;
        let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
        let mut inv = self.adjust.prepare_invoke();
        inv.key(&minute).key(&day).arg(r.second).arg(clamp(requests)).arg(clamp(tokens));
        self.cluster.inner.conn.script::<i64>(&inv).await.map(drop)
    }

    /// Current use of `provider`'s windows across hubs (for `/api/ai/status`).
    pub async fn usage(&self, provider: &str, day: &DayWindow) -> Result<QuotaUsage> {
        let (minute, day) = self.keys(provider, day)?;
        let mut inv = self.usage.prepare_invoke();
        inv.key(&minute).key(&day);
        let (a, b, c, d): (i64, i64, i64, i64) = self.cluster.inner.conn.script(&inv).await?;
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(QuotaUsage { minute_requests: u(a), minute_tokens: u(b), day_requests: u(c), day_tokens: u(d) })
    }
}
