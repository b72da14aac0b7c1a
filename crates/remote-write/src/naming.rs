//! Metric and label names as a Prometheus user expects them: node_exporter's names where one means
//! exactly the same thing, `openmanager_server_<metric>_<unit>` gauges otherwise, and the label
//! rules of the remote-write spec (valid names, no empty values, sorted with `__name__` first).

use std::borrow::Cow;

use protocol::metric;

/// One row of the mapping from the hub's stored metric names to the names receivers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The name in the hub's store (`protocol::metric`).
    pub stored: &'static str,
    /// The Prometheus metric name.
    pub name: &'static str,
    /// What the value is, for docs and `# HELP`-like descriptions.
    pub help: &'static str,
}

/// Every metric the hub stores under a well-known name. All are gauges: the hub stores rates and
/// levels, never raw counters, so no `_total` name is used for any of them.
pub const MAPPINGS: &[Mapping] = &[
    Mapping { stored: metric::CPU, name: "openmanager_server_cpu_percent", help: "CPU busy, percent (0-100)" },
    Mapping { stored: metric::MEMORY, name: "openmanager_server_memory_percent", help: "Memory used, percent" },
    Mapping { stored: metric::DISK, name: "openmanager_server_disk_percent", help: "Root filesystem used, percent" },
    Mapping { stored: metric::SWAP, name: "openmanager_server_swap_percent", help: "Swap used, percent" },
    Mapping {
        stored: metric::NET_RX,
        name: "openmanager_server_network_receive_bytes_per_second",
        help: "Received on external interfaces, bytes per second",
    },
    Mapping {
        stored: metric::NET_TX,
        name: "openmanager_server_network_transmit_bytes_per_second",
        help: "Sent on external interfaces, bytes per second",
    },
    Mapping {
        stored: metric::DISK_READ,
        name: "openmanager_server_disk_read_bytes_per_second",
        help: "Read from disks, bytes per second",
    },
    Mapping {
        stored: metric::DISK_WRITE,
        name: "openmanager_server_disk_written_bytes_per_second",
        help: "Written to disks, bytes per second",
    },
    Mapping { stored: metric::LOAD1, name: "node_load1", help: "1m load average (node_exporter's name)" },
    Mapping { stored: metric::LOAD5, name: "node_load5", help: "5m load average (node_exporter's name)" },
    Mapping { stored: metric::LOAD15, name: "node_load15", help: "15m load average (node_exporter's name)" },
    Mapping {
        stored: metric::PROCESSES,
        name: "node_processes_pids",
        help: "Processes (PIDs in /proc), node_exporter's processes collector name",
    },
    Mapping { stored: metric::UPTIME, name: "openmanager_server_uptime_seconds", help: "Seconds since boot" },
];

/// The prefix of a metric the hub stores under a name it does not know (agents may send others).
pub const CUSTOM_PREFIX: &str = "openmanager_server_custom_";

/// The built-in labels, in the order they sort in.
pub const INSTANCE: &str = "instance";
pub const SERVER_ID: &str = "server_id";
pub const SERVER_TYPE: &str = "server_type";
pub const SOURCE: &str = "source";
pub const BUILT_IN_LABELS: [&str; 4] = [INSTANCE, SERVER_ID, SERVER_TYPE, SOURCE];

/// The metric-name label.
pub const NAME_LABEL: &str = "__name__";

/// Longest label value sent; longer ones are cut at a character boundary. Mimir's default limit is
/// 2048 bytes and a longer value would get the whole request refused.
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;

/// The Prometheus name for a stored metric: the mapping's, or [`CUSTOM_PREFIX`] and the stored name
/// with every character outside `[a-zA-Z0-9_]` replaced by `_`.
pub fn metric_name(stored: &str) -> Cow<'static, str> {
    if let Some(m) = MAPPINGS.iter().find(|m| m.stored == stored) {
        return Cow::Borrowed(m.name);
    }
    let mut name = String::with_capacity(CUSTOM_PREFIX.len() + stored.len());
    name.push_str(CUSTOM_PREFIX);
    name.extend(stored.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }));
    Cow::Owned(name)
}

/// Prometheus's label-name rule: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value as sent: at most [`MAX_LABEL_VALUE_BYTES`], cut at a character boundary. An empty
/// value means "no such label" in Prometheus, so callers leave the label out instead.
pub fn label_value(value: &str) -> &str {
    if value.len() <= MAX_LABEL_VALUE_BYTES {
        return value;
    }
    let mut end = MAX_LABEL_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Why a configured extra label cannot be sent, if it cannot.
pub fn check_extra_label(name: &str, value: &str) -> Result<(), String> {
    if !is_label_name(name) {
        return Err("a label name must match [a-zA-Z_][a-zA-Z0-9_]*".into());
    }
    if name.starts_with("__") {
        return Err("names starting with `__` are reserved for Prometheus".into());
    }
    // Labels are sent sorted by name; anything sorting before `__name__` (an upper-case first letter,
    // or `_` alone) would move the metric name off the first place receivers expect it in.
    if name <= NAME_LABEL {
        return Err("must sort after `__name__`: start it with a lower-case letter".into());
    }
    if BUILT_IN_LABELS.contains(&name) {
        return Err("is one of the labels the sender sets itself (instance, server_id, server_type, source)".into());
    }
    if value.is_empty() {
        return Err("an empty value means no label; remove it instead".into());
    }
    if value.len() > MAX_LABEL_VALUE_BYTES {
        return Err(format!("the value is longer than {MAX_LABEL_VALUE_BYTES} bytes"));
    }
    Ok(())
}

/// What the hub knows of the server a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerRef<'a> {
    /// The id `/api/servers` lists it under (label `server_id`).
    pub id: &'a str,
    /// What people call it (label `instance`; the id when empty).
    pub name: &'a str,
    /// `web`, `api`, `database`, ... (label `server_type`).
    pub server_type: &'a str,
    /// `self`, `agent`, `simulated` or `static` (label `source`).
    pub source: &'a str,
}

/// The full label set of one series, sorted by name: `__name__` first, then the built-in and the
/// extra labels; labels with an empty value are left out.
pub fn series_labels<'a>(
    metric: &'a str,
    server: &ServerRef<'a>,
    extra: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let instance = if server.name.is_empty() { server.id } else { server.name };
    let mut labels: Vec<(&str, &str)> = Vec::with_capacity(5 + extra.len());
    labels.push((NAME_LABEL, metric));
    for (name, value) in
        [(INSTANCE, instance), (SERVER_ID, server.id), (SERVER_TYPE, server.server_type), (SOURCE, server.source)]
    {
        labels.push((name, label_value(value)));
    }
    labels.extend(extra.iter().map(|(n, v)| (n.as_str(), label_value(v))));
    labels.retain(|(_, v)| !v.is_empty());
    labels.sort_unstable_by(|a, b| a.0.cmp(b.0));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_metric_has_one_distinct_valid_name() {
        let all = [
            metric::CPU,
            metric::MEMORY,
            metric::DISK,
            metric::SWAP,
            metric::NET_RX,
            metric::NET_TX,
            metric::DISK_READ,
            metric::DISK_WRITE,
            metric::LOAD1,
            metric::LOAD5,
            metric::LOAD15,
            metric::PROCESSES,
            metric::UPTIME,
        ];
        let mut names: Vec<_> = all.iter().map(|m| metric_name(m)).collect();
        assert!(names.iter().all(|n| !n.starts_with(CUSTOM_PREFIX)), "{names:?}");
        assert!(names.iter().all(|n| is_label_name(n) && !n.ends_with("_total")), "{names:?}");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(MAPPINGS.len(), all.len());
    }

    #[test]
    fn unknown_metrics_get_a_safe_custom_name() {
        assert_eq!(metric_name("load1"), "node_load1");
        assert_eq!(metric_name("gpu.temp-c"), "openmanager_server_custom_gpu_temp_c");
        assert_eq!(metric_name("온도"), "openmanager_server_custom___");
        // A custom name can never take a mapped name's place.
        assert_eq!(metric_name("cpu_percent"), "openmanager_server_custom_cpu_percent");
    }

    #[test]
    fn labels_are_sorted_with_the_name_first_and_empty_ones_left_out() {
        let extra = vec![("region".to_string(), "eu".to_string()), ("job".to_string(), "openmanager".to_string())];
        let server = ServerRef { id: "agent-1", name: "", server_type: "web", source: "agent" };
        let labels = series_labels("node_load1", &server, &extra);
        assert_eq!(
            labels,
            vec![
                ("__name__", "node_load1"),
                ("instance", "agent-1"),
                ("job", "openmanager"),
                ("region", "eu"),
                ("server_id", "agent-1"),
                ("server_type", "web"),
                ("source", "agent"),
            ]
        );
        let untyped = ServerRef { id: "s", name: "n", server_type: "", source: "static" };
        assert!(series_labels("x", &untyped, &[]).iter().all(|(n, _)| *n != "server_type"));
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "가".repeat(MAX_LABEL_VALUE_BYTES); // 3 bytes each
        let cut = label_value(&long);
        assert!(cut.len() <= MAX_LABEL_VALUE_BYTES && cut.len() > MAX_LABEL_VALUE_BYTES - 3);
        assert!(cut.chars().all(|c| c == '가'));
        assert_eq!(label_value("web-1"), "web-1");
    }

    #[test]
    fn extra_labels_are_checked() {
        assert_eq!(check_extra_label("job", "openmanager"), Ok(()));
        assert_eq!(check_extra_label("_team", "a"), Ok(()));
        for bad in ["Job", "_", "__meta", "1abc", "a-b", "", "instance", "source"] {
            assert!(check_extra_label(bad, "x").is_err(), "{bad}");
        }
        assert!(check_extra_label("job", "").is_err());
        assert!(check_extra_label("job", &"x".repeat(MAX_LABEL_VALUE_BYTES + 1)).is_err());
    }
}
