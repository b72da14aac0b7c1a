//! Shared pieces of the load generators: argument parsing, loopback-only targets, and percentile
//! printing. Every generator refuses a target outside 127.0.0.0/8 or ::1 and stops by itself.

use std::net::IpAddr;

use hdrhistogram::Histogram;

/// `--name value` from the command line, or the default.
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

pub fn arg_num(name: &str, default: u64) -> anyhow::Result<u64> {
    arg(name, &default.to_string()).parse().map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// Refuses any target that is not on this machine's loopback.
pub fn loopback_only(url: &str) -> anyhow::Result<()> {
    let host = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host).trim_matches(['[', ']']);
    let ok = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(ok, "refusing a non-loopback target: {host}");
    Ok(())
}

pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 2)?)
}

/// `prefix_p50_ms=… prefix_p99_ms=… prefix_max_ms=…` from a histogram of microseconds.
pub fn print_percentiles(prefix: &str, h: &Histogram<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!("{prefix}_count={}", h.len());
    println!("{prefix}_p50_ms={:.2}", ms(h.value_at_quantile(0.50)));
    println!("{prefix}_p99_ms={:.2}", ms(h.value_at_quantile(0.99)));
    println!("{prefix}_max_ms={:.2}", ms(h.max()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback() {
        assert!(super::loopback_only("ws://127.0.0.1:1/ws").is_ok());
        assert!(super::loopback_only("http://[::1]:80/x").is_ok());
        assert!(super::loopback_only("http://localhost:80").is_ok());
        assert!(super::loopback_only("http://10.0.0.1:80").is_err());
        assert!(super::loopback_only("http://example.com").is_err());
    }
}
