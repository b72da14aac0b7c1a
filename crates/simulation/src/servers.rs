//! The demo fleet: the ten servers the web app knows, with their static descriptive fields.
//!
//! Everything here is display data. The IP addresses are private-range examples and nothing ever
//! connects to them; they exist so the dashboard's server cards look like real inventory.

use serde::Serialize;

/// What a server is for. Serialised in lower case (`"web"`, `"database"`, ...) as the web app expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerType {
    Web,
    Api,
    Database,
    Cache,
    Monitoring,
    Backup,
    Security,
}

/// Whether a service on a server is up. Static per server: the demo shows one intentionally
/// stopped service so the UI's "stopped" badge has something to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    Running,
    Stopped,
}

/// One service listed on a server card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub name: &'static str,
    pub status: ServiceStatus,
    /// `None` for daemons that do not listen (fail2ban, for instance); serialised as `null`.
    pub port: Option<u16>,
}

/// Hardware size, used both for display and to scale load averages (load ~ cores x utilisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Specs {
    pub cpu_cores: u32,
    pub memory_gb: u32,
    pub disk_gb: u32,
}

/// A server's quiet-day behaviour, around which the daily curve, scenarios and jitter are laid.
/// Not serialised: it is a property of the simulation, not of the server the API describes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Mean CPU percent over a day.
    pub cpu: f64,
    /// Mean memory percent over a day.
    pub memory: f64,
    /// Disk usage percent (nearly flat: disks fill over weeks, not hours).
    pub disk: f64,
    /// Mean inbound traffic in bytes per second.
    pub network_in: f64,
    /// Mean outbound traffic in bytes per second.
    pub network_out: f64,
    /// Typical process count.
    pub processes: f64,
}

/// One simulated server: its API-visible description plus the baseline that drives its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimServer {
    /// Stable identifier; identical to `name` because the web app addresses servers by name.
    pub id: &'static str,
    pub name: &'static str,
    pub hostname: &'static str,
    pub ip: &'static str,
    pub os: &'static str,
    #[serde(rename = "type")]
    pub server_type: ServerType,
    pub role: &'static str,
    pub environment: &'static str,
    pub provider: &'static str,
    pub location: &'static str,
    pub services: &'static [Service],
    pub specs: Specs,
    #[serde(skip)]
    pub baseline: Baseline,
}

const fn svc(name: &'static str, port: u16) -> Service {
    Service { name, status: ServiceStatus::Running, port: Some(port) }
}

const NODE_EXPORTER: Service = svc("node_exporter", 9100);

const WEB_SERVICES: &[Service] = &[svc("nginx", 80), svc("nginx-tls", 443), NODE_EXPORTER];
const API_SERVICES: &[Service] = &[svc("node-api", 3000), svc("pm2", 9615), NODE_EXPORTER];
const DB_MASTER_SERVICES: &[Service] =
    &[svc("postgresql", 5432), svc("pgbouncer", 6432), svc("postgres_exporter", 9187), NODE_EXPORTER];
const DB_REPLICA_SERVICES: &[Service] = &[svc("postgresql", 5432), svc("postgres_exporter", 9187), NODE_EXPORTER];
const CACHE_SERVICES: &[Service] = &[svc("redis", 6379), svc("redis_exporter", 9121), NODE_EXPORTER];
const MONITORING_SERVICES: &[Service] =
    &[svc("prometheus", 9090), svc("grafana", 3000), svc("alertmanager", 9093), NODE_EXPORTER];
const BACKUP_SERVICES: &[Service] = &[
    svc("backup-agent", 9102),
    // rsyncd only runs during transfer windows; listing it stopped gives the UI a stopped badge.
    Service { name: "rsyncd", status: ServiceStatus::Stopped, port: Some(873) },
    NODE_EXPORTER,
];
const SECURITY_SERVICES: &[Service] = &[
    svc("sshd", 22),
    Service { name: "fail2ban", status: ServiceStatus::Running, port: None },
    svc("wazuh-agent", 1514),
    NODE_EXPORTER,
];

const fn specs(cpu_cores: u32, memory_gb: u32, disk_gb: u32) -> Specs {
    Specs { cpu_cores, memory_gb, disk_gb }
}

const MB: f64 = 1_000_000.0;

static FLEET: [SimServer; 10] = [
    SimServer {
        id: "web-01",
        name: "web-01",
        hostname: "web-01.openmanager.local",
        ip: "10.0.1.11",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Web,
        role: "frontend",
        environment: "production",
        provider: "GCP",
        location: "us-central1-a",
        services: WEB_SERVICES,
        specs: specs(4, 8, 100),
        baseline: Baseline {
            cpu: 35.0,
            memory: 45.0,
            disk: 38.0,
            network_in: 2.5 * MB,
            network_out: 6.0 * MB,
            processes: 180.0,
        },
    },
    SimServer {
        id: "web-02",
        name: "web-02",
        hostname: "web-02.openmanager.local",
        ip: "10.0.1.12",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Web,
        role: "frontend",
        environment: "production",
        provider: "GCP",
        location: "us-central1-b",
        services: WEB_SERVICES,
        specs: specs(4, 8, 100),
        baseline: Baseline {
            cpu: 32.0,
            memory: 43.0,
            disk: 36.0,
            network_in: 2.3 * MB,
            network_out: 5.6 * MB,
            processes: 176.0,
        },
    },
    SimServer {
        id: "api-01",
        name: "api-01",
        hostname: "api-01.openmanager.local",
        ip: "10.0.2.21",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Api,
        role: "application",
        environment: "production",
        provider: "GCP",
        location: "us-central1-a",
        services: API_SERVICES,
        specs: specs(8, 16, 200),
        baseline: Baseline {
            cpu: 40.0,
            memory: 55.0,
            disk: 42.0,
            network_in: 3.0 * MB,
            network_out: 3.5 * MB,
            processes: 220.0,
        },
    },
    SimServer {
        id: "api-02",
        name: "api-02",
        hostname: "api-02.openmanager.local",
        ip: "10.0.2.22",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Api,
        role: "application",
        environment: "production",
        provider: "GCP",
        location: "us-central1-b",
        services: API_SERVICES,
        specs: specs(8, 16, 200),
        baseline: Baseline {
            cpu: 38.0,
            memory: 52.0,
            disk: 40.0,
            network_in: 2.8 * MB,
            network_out: 3.3 * MB,
            processes: 214.0,
        },
    },
    SimServer {
        id: "db-master",
        name: "db-master",
        hostname: "db-master.openmanager.local",
        ip: "10.0.3.31",
        os: "Rocky Linux 9.3",
        server_type: ServerType::Database,
        role: "primary",
        environment: "production",
        provider: "AWS",
        location: "us-east-1a",
        services: DB_MASTER_SERVICES,
        specs: specs(16, 64, 1000),
        baseline: Baseline {
            cpu: 45.0,
            memory: 65.0,
            disk: 58.0,
            network_in: 4.0 * MB,
            network_out: 5.0 * MB,
            processes: 260.0,
        },
    },
    SimServer {
        id: "db-replica",
        name: "db-replica",
        hostname: "db-replica.openmanager.local",
        ip: "10.0.3.32",
        os: "Rocky Linux 9.3",
        server_type: ServerType::Database,
        role: "replica",
        environment: "production",
        provider: "AWS",
        location: "us-east-1b",
        services: DB_REPLICA_SERVICES,
        specs: specs(16, 64, 1000),
        baseline: Baseline {
            cpu: 30.0,
            memory: 60.0,
            disk: 57.0,
            network_in: 3.0 * MB,
            network_out: 1.5 * MB,
            processes: 240.0,
        },
    },
    SimServer {
        id: "redis-cache",
        name: "redis-cache",
        hostname: "redis-cache.openmanager.local",
        ip: "10.0.4.41",
        os: "Debian 12",
        server_type: ServerType::Cache,
        role: "cache",
        environment: "production",
        provider: "AWS",
        location: "us-east-1a",
        services: CACHE_SERVICES,
        specs: specs(4, 32, 100),
        baseline: Baseline {
            cpu: 22.0,
            memory: 58.0,
            disk: 24.0,
            network_in: 5.0 * MB,
            network_out: 7.0 * MB,
            processes: 120.0,
        },
    },
    SimServer {
        id: "monitoring",
        name: "monitoring",
        hostname: "monitoring.openmanager.local",
        ip: "10.0.5.51",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Monitoring,
        role: "observability",
        environment: "production",
        provider: "GCP",
        location: "us-central1-c",
        services: MONITORING_SERVICES,
        specs: specs(4, 16, 500),
        baseline: Baseline {
            cpu: 30.0,
            memory: 50.0,
            disk: 55.0,
            network_in: 1.8 * MB,
            network_out: 0.6 * MB,
            processes: 200.0,
        },
    },
    SimServer {
        id: "backup",
        name: "backup",
        hostname: "backup.openmanager.local",
        ip: "10.0.6.61",
        os: "Ubuntu 20.04 LTS",
        server_type: ServerType::Backup,
        role: "backup",
        environment: "production",
        provider: "AWS",
        location: "us-west-2a",
        services: BACKUP_SERVICES,
        specs: specs(4, 8, 4000),
        baseline: Baseline {
            cpu: 15.0,
            memory: 30.0,
            disk: 62.0,
            network_in: 1.0 * MB,
            network_out: 0.3 * MB,
            processes: 140.0,
        },
    },
    SimServer {
        id: "security",
        name: "security",
        hostname: "security.openmanager.local",
        ip: "10.0.7.71",
        os: "Ubuntu 22.04 LTS",
        server_type: ServerType::Security,
        role: "bastion",
        environment: "production",
        provider: "GCP",
        location: "us-central1-a",
        services: SECURITY_SERVICES,
        specs: specs(2, 4, 50),
        baseline: Baseline {
            cpu: 18.0,
            memory: 35.0,
            disk: 30.0,
            network_in: 0.4 * MB,
            network_out: 0.3 * MB,
            processes: 160.0,
        },
    },
];

/// The whole demo fleet, in the order the web app lists it.
pub fn fleet() -> &'static [SimServer] {
    &FLEET
}

/// Looks a server up by id (which equals its name).
pub fn server(id: &str) -> Option<&'static SimServer> {
    FLEET.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_has_the_ten_known_servers() {
        let ids: Vec<_> = fleet().iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "web-01",
                "web-02",
                "api-01",
                "api-02",
                "db-master",
                "db-replica",
                "redis-cache",
                "monitoring",
                "backup",
                "security"
            ]
        );
        for s in fleet() {
            assert_eq!(s.id, s.name);
            assert_eq!(s.hostname, format!("{}.openmanager.local", s.id));
            assert!(s.ip.starts_with("10."), "display IPs stay private-range");
            assert!(!s.services.is_empty());
            assert!(s.specs.cpu_cores > 0 && s.specs.memory_gb > 0 && s.specs.disk_gb > 0);
        }
        assert!(server("redis-cache").is_some_and(|s| s.server_type == ServerType::Cache));
        assert!(server("nope").is_none());
    }

    #[test]
    fn serialises_with_camel_case_and_type_field() {
        let json = serde_json::to_value(server("web-01").unwrap()).unwrap();
        assert_eq!(json["type"], "web");
        assert_eq!(json["specs"]["cpuCores"], 4);
        assert_eq!(json["specs"]["memoryGb"], 8);
        assert_eq!(json["services"][0], serde_json::json!({"name": "nginx", "status": "running", "port": 80}));
        assert!(json.get("baseline").is_none(), "simulation internals are not API fields");
        let sec = serde_json::to_value(server("security").unwrap()).unwrap();
        assert!(sec["services"].as_array().unwrap().iter().any(|s| s["port"].is_null()));
    }

    #[test]
    fn baselines_leave_room_below_the_warning_threshold() {
        // The daily curve swings CPU by up to +30% of its mean; everything must still stay clearly
        // under 80% so that only scenarios produce warnings.
        for s in fleet() {
            let b = s.baseline;
            assert!(b.cpu * 1.3 < 70.0 && b.memory * 1.08 < 75.0 && b.disk < 75.0, "{}", s.id);
        }
    }
}
