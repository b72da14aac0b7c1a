"""schemathesis hooks for the OpenManager run: the rules the OpenAPI document states in words because
JSON Schema cannot state them (one field against another, a value that only a previous answer can
supply, the server's state). A schema-valid case that breaks one of them is not valid input, so
`positive_data_acceptance` would report a true refusal as a failure; these hooks drop such positive
cases before they are sent. Negative cases are never touched, and every other check runs on every
case that is sent. Each rule below names the operation's description that states it.
"""

import ipaddress
import re
from datetime import datetime, timezone
from urllib.parse import unquote

import schemathesis

WHITESPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                 "\u2028\u2029\u202f\u205f\u3000")


def blank(text):
    """What Rust's `str::trim().is_empty()` calls blank (Unicode White_Space)."""
    return all(c in WHITESPACE for c in text)


def positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def parse_time(value):
    """RFC 3339 or Unix milliseconds, as the server reads `from`/`to`/`startsAt`/`endsAt`."""
    if value is None:
        return None
    try:
        return int(value) / 1000.0
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value).replace("z", "Z").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def rule_is_consistent(body, partial):
    """`clearThreshold` on the clear side of `threshold`; `window.n` at most `window.m`; `checkId`
    only with a `check.*` metric; `channels`
    empty (a rule may only name channels that exist, which a generated id does not)."""
    if body.get("channels"):
        return False
    window = body.get("window")
    if isinstance(window, dict) and window.get("kind") == "nOfM":
        n, m = window.get("n"), window.get("m")
        # Numbers, as JSON has them (`70.0` is the integer 70).
        if isinstance(n, (int, float)) and isinstance(m, (int, float)) and n > m:
            return False
    # `checkId` only with a `check.*` metric; a change must name that metric itself, since the
    # rule it changes may watch another.
    metric = body.get("metric")
    if body.get("checkId") is not None and not (isinstance(metric, str) and metric.startswith("check.")):
        return False
    clear = body.get("clearThreshold")
    if partial:
        # A change is merged into a rule the case cannot see: a clear threshold, a threshold past
        # 100 with no metric, or a bare operator may contradict it.
        # A new threshold alone may cross the rule's unseen clear threshold.
        if clear is not None or "op" in body or "threshold" in body:
            return False
        percent = body.get("metric") in ("cpu", "memory", "disk")
        if (body.get("threshold") or 0) > 100 and (percent or body.get("metric") is None):
            return False
        # A percent metric over the rule's own threshold, which may be past 100.
        if percent and "threshold" not in body:
            return False
        return True
    if clear is not None:
        upper = body.get("op") in (">", ">=")
        threshold = body.get("threshold")
        if isinstance(threshold, (int, float)) and (clear > threshold if upper else clear < threshold):
            return False
    return True


def user_text_is_question(body):
    """OpenAI: the last `user` message's text must not be blank."""
    texts = []
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.append("".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)))
            else:
                texts.append("")
    return bool(texts) and not blank(texts[-1])


def gemini_text_is_question(body):
    """Gemini: the last turn that is not `model`'s and has text must have text that is not blank."""
    last = None
    for c in body.get("contents") or []:
        if not isinstance(c, dict) or c.get("role") == "model":
            continue
        text = "".join(p["text"] for p in c.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str))
        if text:
            last = text
    return last is not None and not blank(last)


HOST = r"[A-Za-z]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?)*"
PORT = r"([1-9][0-9]{0,3})"
TARGETS = {
    "http": re.compile(rf"https?://{HOST}(:{PORT})?(/[A-Za-z0-9._~-]*)*"),
    "tcp": re.compile(rf"{HOST}:{PORT}"),
    "tls": re.compile(rf"{HOST}(:{PORT})?"),
    "ping": re.compile(HOST),
    "dns": re.compile(HOST),
}


def check_is_consistent(body, partial=False):
    """Checks: a target of the check's `kind`, options only of that kind, `timeoutMs` below the interval, `dns.expect`
    an answer `dns.recordType` can give (checked here for A, AAAA and TXT; the host-name forms
    are dropped)."""
    kind = body.get("kind")
    # A target that parses for its kind: only the plain forms are kept (the server's URL and host
    # parsers accept more, which a regex would not say exactly).
    # A change cannot see the check's kind, target or options, which a new kind or target must fit.
    if partial and ("kind" in body or "target" in body):
        return False
    if "target" in body and not (kind in TARGETS and TARGETS[kind].fullmatch(str(body["target"]))):
        return False
    if partial and any(body.get(s) is not None for s in ("http", "dns", "tls")) and "kind" not in body:
        return False
    if partial and ("intervalSeconds" in body) != ("timeoutMs" in body):
        return False
    for section in ("http", "dns", "tls"):
        if body.get(section) is not None and kind != section:
            return False
    interval = body.get("intervalSeconds", 60)
    timeout = body.get("timeoutMs", 10000)
    if isinstance(interval, (int, float)) and isinstance(timeout, (int, float)) and timeout >= interval * 1000:
        return False
    dns = body.get("dns")
    if isinstance(dns, dict) and dns.get("expect") is not None:
        record = dns.get("recordType", "A")
        expect = str(dns["expect"])
        try:
            if record == "A":
                ipaddress.IPv4Address(expect)
            elif record == "AAAA":
                if "%" in expect:
                    return False
                ipaddress.IPv6Address(expect)
            elif record != "TXT":
                return False
        except ValueError:
            return False
    return True


def window_is_consistent(body):
    """Maintenance windows: at least one server or check; `end` after `start` (which defaults to
    now); only a weekly window may go without `end`."""
    if not body.get("servers") and not body.get("checks"):
        return False
    if "end" not in body:
        return body.get("weekly") is not None and ("start" not in body or parse_time(body.get("start")) is not None)
    start = parse_time(body["start"]) if "start" in body else datetime.now(timezone.utc).timestamp()
    end = parse_time(body.get("end"))
    return start is not None and end is not None and end > start


@schemathesis.hook
def filter_case(context, case):
    if not positive(case):
        return True
    op = case.operation
    path, method = op.path, op.method.upper()
    query = case.query or {}
    body = case.body if isinstance(case.body, dict) else {}
    # `cursor` is the `nextCursor` of a previous page (its description says so); a made-up one is 422.
    if query.get("cursor") is not None:
        return False
    if path == "/api/metrics/history":
        start, end = parse_time(query.get("from")), parse_time(query.get("to"))
        now = datetime.now(timezone.utc).timestamp()
        # `from` is not after `to` (now when absent).
        if start is not None and start > (end if end is not None else now):
            return False
    if path == "/api/alerts/rules" and method == "POST":
        return rule_is_consistent(body, partial=False)
    if path == "/api/alerts/rules/{id}" and method == "PATCH":
        return rule_is_consistent(body, partial=True)
    if path == "/api/alerts/silences" and method == "POST":
        start = parse_time(body.get("startsAt")) or datetime.now(timezone.utc).timestamp()
        end = parse_time(body.get("endsAt"))
        # `endsAt` after `startsAt` (now when absent), with a minute to spare for the request.
        if end is None or end <= start + 60:
            return False
    if path == "/api/checks" and method == "POST":
        return check_is_consistent(body)
    if path == "/api/checks/{id}" and method == "PATCH":
        return check_is_consistent(body, partial=True)
    # `where` must be one of the check's `runOn` places, which only the check can tell.
    if path == "/api/checks/{id}/history" and query.get("where") is not None:
        return False
    if path == "/api/maintenance" and method == "POST":
        return window_is_consistent(body)
    if path == "/api/notifications/channels" and method == "POST":
        # The mask `********` keeps a stored secret: valid only when replacing a channel that has one.
        target = body.get("target")
        if isinstance(target, dict) and "********" in target.values():
            return False
    if path == "/v1/chat/completions":
        return user_text_is_question(body)
    if path == "/api/ai/google/{version}/models/{call}" and method == "POST":
        # `:streamGenerateContent` is served as server-sent events only, with `alt=sse`.
        call = unquote(str((case.path_parameters or {}).get("call", "")))
        if call.endswith(":streamGenerateContent") and query.get("alt") != "sse":
            return False
        return gemini_text_is_question(body)
    return True
