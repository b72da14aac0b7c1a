//! `/proc/net/dev` parsing and per-interface network rates.

use crate::delta::{counter_delta, rate};
use crate::raw::{NetCounters, set_string, slot};
use crate::snapshot::{InterfaceUsage, NetworkUsage};

/// Parses `/proc/net/dev` into `out`, overwriting entries in place. The two
/// header lines and malformed lines are skipped.
pub fn parse_net_dev(text: &str, out: &mut Vec<NetCounters>) {
    let mut n = 0;
    for line in text.lines() {
        // Old kernels print `eth0:123` without a space once counters get wide, so
        // split on the colon rather than on whitespace.
        let Some((name, rest)) = line.split_once(':') else { continue };
        let name = name.trim();
        if name.is_empty() || name.contains('|') {
            continue;
        }
        let mut v = [0u64; 16];
        let mut count = 0;
        for (dst, field) in v.iter_mut().zip(rest.split_ascii_whitespace()) {
            let Ok(x) = field.parse() else { break };
            *dst = x;
            count += 1;
        }
        if count < 12 {
            continue;
        }
        let e = slot(out, n);
        set_string(&mut e.name, name);
        e.rx_bytes = v[0];
        e.rx_packets = v[1];
        e.rx_errors = v[2];
        e.rx_dropped = v[3];
        e.tx_bytes = v[8];
        e.tx_packets = v[9];
        e.tx_errors = v[10];
        e.tx_dropped = v[11];
        n += 1;
    }
    out.truncate(n);
}

/// Loopback traffic never leaves the host, so it is listed but kept out of totals.
pub fn is_loopback(name: &str) -> bool {
    name == "lo"
}

/// Builds the per-interface view with rates against `prev` (matched by name).
/// Totals are `None` when there is no interval (first sample); an interface seen
/// for the first time has no rate and adds nothing to the totals.
pub fn network_usage(prev: &[NetCounters], cur: &[NetCounters], elapsed_secs: Option<f64>) -> NetworkUsage {
    let mut interfaces = Vec::with_capacity(cur.len());
    let secs = elapsed_secs.filter(|s| *s > 0.0);
    let (mut rx_total, mut tx_total) = (0u64, 0u64);
    for (i, c) in cur.iter().enumerate() {
        let p = match prev.get(i) {
            Some(p) if p.name == c.name => Some(p),
            _ => prev.iter().find(|p| p.name == c.name),
        };
        let (mut rx_rate, mut tx_rate) = (None, None);
        if let Some(p) = p {
            rx_rate = rate(p.rx_bytes, c.rx_bytes, secs);
            tx_rate = rate(p.tx_bytes, c.tx_bytes, secs);
            if !is_loopback(&c.name) {
                rx_total = rx_total.saturating_add(counter_delta(p.rx_bytes, c.rx_bytes));
                tx_total = tx_total.saturating_add(counter_delta(p.tx_bytes, c.tx_bytes));
            }
        }
        interfaces.push(InterfaceUsage {
            name: c.name.clone(),
            rx_bytes: c.rx_bytes,
            tx_bytes: c.tx_bytes,
            rx_packets: c.rx_packets,
            tx_packets: c.tx_packets,
            rx_errors: c.rx_errors,
            tx_errors: c.tx_errors,
            rx_dropped: c.rx_dropped,
            tx_dropped: c.tx_dropped,
            rx_bytes_per_sec: rx_rate,
            tx_bytes_per_sec: tx_rate,
        });
    }
    NetworkUsage {
        interfaces,
        rx_bytes_per_sec: secs.map(|s| rx_total as f64 / s),
        tx_bytes_per_sec: secs.map(|s| tx_total as f64 / s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  120932    1340    0    0    0     0          0         0   120932    1340    0    0    0     0       0          0
  ens4: 918273645  734521    2    7    0     0          0         0 61234567  402311    1    0    0     0       0          0
docker0:1234 10 0 0 0 0 0 0 5678 20 0 0 0 0 0 0
  bad0: 1 2 3
  bad1: x 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
";

    #[test]
    fn parse_realistic_and_malformed() {
        let mut v = Vec::new();
        parse_net_dev(NET_DEV, &mut v);
        let names: Vec<_> = v.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lo", "ens4", "docker0"]);
        assert_eq!(v[1].rx_bytes, 918273645);
        assert_eq!(v[1].rx_packets, 734521);
        assert_eq!((v[1].rx_errors, v[1].rx_dropped), (2, 7));
        assert_eq!((v[1].tx_bytes, v[1].tx_packets, v[1].tx_errors), (61234567, 402311, 1));
        assert_eq!((v[2].rx_bytes, v[2].tx_bytes), (1234, 5678));
        parse_net_dev("", &mut v);
        assert!(v.is_empty());
    }

    fn iface(name: &str, rx: u64, tx: u64) -> NetCounters {
        NetCounters { name: name.into(), rx_bytes: rx, tx_bytes: tx, ..NetCounters::default() }
    }

    #[test]
    fn rates_exclude_loopback_and_handle_resets() {
        let prev = [iface("lo", 0, 0), iface("eth0", 1000, 500), iface("eth1", 9000, 9000)];
        let cur = [iface("lo", 5000, 5000), iface("eth1", 10, 10), iface("eth0", 3000, 1500), iface("tun0", 7, 7)];
        let u = network_usage(&prev, &cur, Some(2.0));
        assert_eq!(u.rx_bytes_per_sec, Some(1000.0));
        assert_eq!(u.tx_bytes_per_sec, Some(500.0));
        assert_eq!(u.interfaces[0].rx_bytes_per_sec, Some(2500.0));
        assert_eq!(u.interfaces[1].rx_bytes_per_sec, Some(0.0)); // counter reset
        assert_eq!(u.interfaces[2].tx_bytes_per_sec, Some(500.0));
        assert_eq!(u.interfaces[3].rx_bytes_per_sec, None); // new interface
        let first = network_usage(&[], &cur, None);
        assert_eq!(first.rx_bytes_per_sec, None);
        assert!(first.interfaces.iter().all(|i| i.rx_bytes_per_sec.is_none()));
    }
}
