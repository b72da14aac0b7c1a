//! Where notifications may go (`alerts.channel_hosts`), parsed: host names, IP addresses and IP
//! networks a channel's URL may name (the notifier checks each request against it). Empty allows any host (the default: receivers are chosen by admins).
//! Checked on the URL each attempt would post to, before any connection or DNS lookup, so a
//! channel stored before the list was narrowed cannot send either. A name is matched as written:
//! a network entry only allows URLs that name an address inside it, never a name that resolves there.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Name(String),
    Network { base: IpAddr, prefix: u8 },
}

/// The parsed allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    entries: Vec<Entry>,
}

impl HostPolicy {
    /// Parses the configured entries (`name`, `address`, `address/prefix`); the error names the
    /// first entry that is none of these.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(entries.len());
        for raw in entries {
            let e = raw.trim();
            let entry = if let Some((addr, prefix)) = e.split_once('/') {
                let base: IpAddr = addr.parse().map_err(|_| format!("`{raw}`: not an address/prefix"))?;
                let max = if base.is_ipv4() { 32 } else { 128 };
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("`{raw}`: prefix must be 0-{max}"))?;
                Entry::Network { base, prefix }
            } else if let Ok(ip) = e.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                Entry::Network { base: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } }
            } else if !e.is_empty()
                && e.len() <= 253
                && e.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
            {
                Entry::Name(e.to_ascii_lowercase())
            } else {
                return Err(format!("`{raw}`: not a host name, address or network"));
            };
            out.push(entry);
        }
        Ok(Self { entries: out })
    }

    pub fn allows_any(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a request to `url` may be sent; `Err` says why not.
    pub fn check(&self, url: &str) -> Result<(), String> {
        if self.allows_any() {
            return Ok(());
        }
        let parsed = reqwest::Url::parse(url).map_err(|_| "the channel's URL is not valid".to_owned())?;
        let host = parsed.host_str().unwrap_or_default();
        let allowed = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => self.contains(ip),
            Err(_) => {
                let name = host.to_ascii_lowercase();
                !name.is_empty() && self.entries.iter().any(|e| matches!(e, Entry::Name(n) if *n == name))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err("the channel's host is not in `alerts.channel_hosts`; nothing was sent".to_owned())
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.entries.iter().any(|e| match e {
            Entry::Network { base, prefix } => in_network(ip, *base, *prefix),
            Entry::Name(_) => false,
        })
    }
}

fn in_network(ip: IpAddr, base: IpAddr, prefix: u8) -> bool {
    let (ip, base, bits) = match (ip, base) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32u32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128u32),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (ip >> shift) == (base >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> HostPolicy {
        HostPolicy::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn loopback_network_only() {
        let p = policy(&["127.0.0.0/8"]);
        assert!(p.check("http://127.0.0.1:9/hook").is_ok());
        assert!(p.check("https://127.200.3.4/x").is_ok());
        assert!(p.check("http://128.0.0.1/").is_err());
        assert!(p.check("http://10.0.0.1/").is_err());
        // A name is not resolved, so it cannot be let in by a network entry.
        assert!(p.check("http://localhost/").is_err());
        assert!(p.check("https://hooks.slack.com/services/x").is_err());
        assert!(p.check("http://[::ffff:127.0.0.1]/").is_ok(), "an IPv4-mapped address is the address");
    }

    #[test]
    fn names_addresses_and_the_empty_list() {
        let p = policy(&["hooks.slack.com", "::1", "10.1.0.0/16"]);
        assert!(p.check("https://HOOKS.slack.com/a").is_ok());
        assert!(p.check("https://evil.hooks.slack.com.example/a").is_err());
        assert!(p.check("http://[::1]:8080/").is_ok());
        assert!(p.check("http://10.1.200.1/").is_ok());
        assert!(p.check("http://10.2.0.1/").is_err());
        assert!(HostPolicy::default().check("https://anywhere.example/").is_ok());
        assert!(HostPolicy::parse(&["1.2.3.4/33".into()]).is_err());
        assert!(HostPolicy::parse(&["a b".into()]).is_err());
        assert!(policy(&["0.0.0.0/0"]).check("http://8.8.8.8/").is_ok());
    }
}
