//! The `dns` probe: one query to one server (the check's resolver, or the first `nameserver` of
//! /etc/resolv.conf), over UDP and again over TCP when the answer is truncated; no cache, so every
//! run asks the server. Up when the answer code is NOERROR, at least one record of the asked type
//! came back and, when the check expects a value, one of them has it.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Instant;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType as WireType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::check::DnsPlan;
use crate::def::RecordType;
use crate::result::Outcome;
use crate::target::{io_text, resolve};

/// A UDP answer without EDNS fits in 512 bytes; some servers send more, so allow a little extra.
const UDP_BUF: usize = 4096;
/// Answers listed in an error text.
const SHOWN_ANSWERS: usize = 5;
/// Bytes of /etc/resolv.conf read at most.
const MAX_RESOLV_CONF: u64 = 64 * 1024;

pub(crate) async fn probe(plan: &DnsPlan, resolv_conf: &Path, started: Instant) -> Outcome {
    match run(plan, resolv_conf).await {
        Ok(()) => Outcome::up(started.elapsed()),
        Err(e) => Outcome::down(started.elapsed(), e),
    }
}

async fn run(plan: &DnsPlan, resolv_conf: &Path) -> Result<(), String> {
    let server = match &plan.resolver {
        Some(hp) => *resolve(hp).await?.first().ok_or("the resolver has no address")?,
        None => system_resolver(resolv_conf).await?,
    };
    let name = Name::from_ascii(&plan.name).map_err(|e| format!("`{}` is not a DNS name: {e}", plan.name))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, wire_type(plan.record_type)));
    let bytes = query.to_vec().map_err(|e| format!("cannot encode the query: {e}"))?;
    let id = query.metadata.id;

    let mut answer = exchange_udp(server, &bytes, id).await?;
    if answer.metadata.truncation {
        answer = exchange_tcp(server, &bytes, id).await?;
    }
    evaluate(plan, server, &answer)
}

fn wire_type(t: RecordType) -> WireType {
    match t {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
    }
}

/// The first `nameserver` of resolv.conf (read each time, so a change is seen at the next run).
async fn system_resolver(path: &Path) -> Result<SocketAddr, String> {
    let text = read_bounded(path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    first_nameserver(&text).ok_or_else(|| format!("no nameserver in {}; set dns.resolver", path.display()))
}

async fn read_bounded(path: &Path) -> std::io::Result<String> {
    let file = tokio::fs::File::open(path).await?;
    let mut text = String::new();
    file.take(MAX_RESOLV_CONF).read_to_string(&mut text).await?;
    Ok(text)
}

pub(crate) fn first_nameserver(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            return None;
        }
        // A link-local IPv6 server may carry a zone (`fe80::1%eth0`), which IpAddr does not parse.
        let addr = words.next()?.split('%').next()?;
        addr.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
    })
}

async fn exchange_udp(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, String> {
    let local: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let fail = |e: std::io::Error| format!("DNS over UDP to {server}: {}", io_text(&e));
    let socket = UdpSocket::bind(local).await.map_err(fail)?;
    // Connected: the kernel drops datagrams from anyone but the server.
    socket.connect(server).await.map_err(fail)?;
    socket.send(query).await.map_err(fail)?;
    let mut buf = vec![0u8; UDP_BUF];
    loop {
        let n = socket.recv(&mut buf).await.map_err(fail)?;
        // A datagram that is not the answer (a late one of an earlier query) is skipped; the caller's
        // timeout bounds the wait.
        if let Ok(answer) = Message::from_vec(&buf[..n])
            && answer.metadata.id == id
            && answer.metadata.message_type == MessageType::Response
        {
            return Ok(answer);
        }
    }
}

async fn exchange_tcp(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, String> {
    let fail = |e: std::io::Error| format!("DNS over TCP to {server}: {}", io_text(&e));
    let mut stream = TcpStream::connect(server).await.map_err(fail)?;
    let len = u16::try_from(query.len()).map_err(|_| "the query is too long".to_string())?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(fail)?;
    let len = stream.read_u16().await.map_err(fail)?;
    // At most 64 KiB, by the length prefix's size.
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.map_err(fail)?;
    let answer = Message::from_vec(&buf).map_err(|e| format!("a bad DNS answer from {server}: {e}"))?;
    if answer.metadata.id != id {
        return Err(format!("the DNS answer from {server} is for another query"));
    }
    Ok(answer)
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("answer code {} ({})", u16::from(other), other.to_str()),
    }
}

/// A name as compared and shown: lower case, without the trailing dot.
fn plain_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The answers of the asked type, as text (`10 mx.example.com` for MX).
fn answers(plan: &DnsPlan, answer: &Message) -> Vec<String> {
    let wanted = wire_type(plan.record_type);
    answer
        .answers
        .iter()
        .filter(|r| r.record_type() == wanted)
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            RData::CNAME(n) => Some(plain_name(&n.0.to_ascii())),
            RData::NS(n) => Some(plain_name(&n.0.to_ascii())),
            RData::MX(mx) => Some(format!("{} {}", mx.preference, plain_name(&mx.exchange.to_ascii()))),
            RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| String::from_utf8_lossy(s)).collect()),
            _ => None,
        })
        .collect()
}

/// Whether `value` (as [`answers`] gives it) is what `expect` asks for.
fn matches(record_type: RecordType, value: &str, expect: &str) -> bool {
    match record_type {
        RecordType::A | RecordType::Aaaa => {
            matches!((value.parse::<IpAddr>(), expect.parse::<IpAddr>()), (Ok(a), Ok(b)) if a == b)
        }
        RecordType::Cname | RecordType::Ns => value == plain_name(expect),
        RecordType::Mx => match expect.split_once(' ') {
            Some((pref, host)) => value == format!("{} {}", pref.trim(), plain_name(host)),
            None => value.split_once(' ').is_some_and(|(_, host)| host == plain_name(expect)),
        },
        RecordType::Txt => value == expect,
    }
}

fn evaluate(plan: &DnsPlan, server: SocketAddr, answer: &Message) -> Result<(), String> {
    let code = answer.metadata.response_code;
    if code != ResponseCode::NoError {
        return Err(format!("{} from {server} for {} {}", rcode_name(code), plan.record_type.as_str(), plan.name));
    }
    let values = answers(plan, answer);
    if values.is_empty() {
        return Err(format!("no {} record for {} (NOERROR from {server})", plan.record_type.as_str(), plan.name));
    }
    if let Some(expect) = &plan.expect
        && !values.iter().any(|v| matches(plan.record_type, v, expect))
    {
        let shown: Vec<&str> = values.iter().take(SHOWN_ANSWERS).map(String::as_str).collect();
        let more = if values.len() > SHOWN_ANSWERS {
            format!(" and {} more", values.len() - SHOWN_ANSWERS)
        } else {
            String::new()
        };
        return Err(format!("expected {expect}, got {}{more}", shown.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_the_first_nameserver() {
        let conf = "# generated\nsearch lan\nnameserver fe80::1%eth0\nnameserver 10.0.0.2\n";
        assert_eq!(first_nameserver(conf), Some("[fe80::1]:53".parse().unwrap()));
        assert_eq!(first_nameserver("options ndots:2\n"), None);
    }

    #[test]
    fn compares_answers_by_type() {
        assert!(matches(RecordType::A, "10.0.0.1", "10.0.0.1"));
        assert!(matches(RecordType::Aaaa, "::1", "0:0:0:0:0:0:0:1"));
        assert!(matches(RecordType::Cname, "x.test", "X.Test."));
        assert!(matches(RecordType::Mx, "10 mail.x.test", "mail.x.test"));
        assert!(matches(RecordType::Mx, "10 mail.x.test", "10 mail.x.test."));
        assert!(!matches(RecordType::Mx, "10 mail.x.test", "20 mail.x.test"));
        assert!(!matches(RecordType::Txt, "v=spf1", "v=spf2"));
    }
}
