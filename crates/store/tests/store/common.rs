//! Shared helpers: a fresh database per test on either backend ([`TestDb`]), the macro that runs
//! each conformance case against both, and sample builders.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use store::{Config, Sample, Store};
use tempfile::TempDir;

/// Midnight UTC, so hour/minute buckets line up with round numbers.
pub const T0: i64 = 1_750_032_000_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 86_400_000;

pub const PG_ADDR: &str = "127.0.0.1:5432";
const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5";

/// Instantiate each listed `async fn case(db: &TestDb)` once per backend: `sqlite::case` and
/// `postgres::case`. The PostgreSQL one gets a fresh database (dropped afterwards) and skips with
/// a clear line, or fails under `OPENMANAGER_TEST_STRICT=1`, when PostgreSQL is absent.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::common::TestDb::sqlite();
                    super::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = crate::common::TestDb::postgres(stringify!($case)).await else { return };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

/// One test's database: a temp-dir SQLite file, or a PostgreSQL database created for the test
/// (as user `postgres` on 127.0.0.1:5432) and dropped when this value is.
pub struct TestDb {
    dir: TempDir,
    pg: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        TestDb { dir: TempDir::new().unwrap(), pg: None }
    }

    /// `None` (after the testkit skip line) when PostgreSQL does not answer.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        if !testkit::service(test, "PostgreSQL", PG_ADDR, "apt-get install postgresql; trust auth for user postgres") {
            return None;
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("om_store_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        admin(&format!("CREATE DATABASE {name}")).await;
        Some(TestDb { dir: TempDir::new().unwrap(), pg: Some(name) })
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// The URL `Store::open_url` gets: `postgres://...` or `sqlite://<temp dir>/metrics.db`.
    pub fn url(&self) -> String {
        match &self.pg {
            Some(name) => format!("postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"),
            None => format!("sqlite://{}", self.dir.path().join("metrics.db").display()),
        }
    }

    /// Test-friendly settings (no batching linger), the same for both backends.
    pub fn config(&self) -> Config {
        let mut cfg = Config::new(self.dir.path().join("metrics.db"));
        cfg.batch_linger = Duration::ZERO;
        cfg
    }

    pub async fn open(&self) -> Store {
        self.open_with(self.config()).await
    }

    pub async fn open_with(&self, cfg: Config) -> Store {
        Store::open_url(Some(&self.url()), cfg).await.unwrap()
    }

    /// A plain client on this test's PostgreSQL database (for the PostgreSQL-only cases).
    pub async fn pg_client(&self) -> tokio_postgres::Client {
        let name = self.pg.as_deref().expect("a PostgreSQL test database");
        client(&format!("host=127.0.0.1 port=5432 user=postgres dbname={name}")).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg.take() {
            // Drop runs inside the test's runtime: use a thread with its own to wait for the DROP.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
            })
            .join();
        }
    }
}

async fn client(conn: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn admin(sql: &str) {
    client(PG_ADMIN).await.batch_execute(sql).await.unwrap();
}

pub fn sample(server: &str, ts: i64, cpu: f64) -> Sample {
    Sample::new(server, ts).with("cpu", cpu).with("net_rx", cpu * 1000.0)
}

/// `n` samples every `step_ms` from `start`, cpu = index.
pub fn series(server: &str, start: i64, step_ms: i64, n: usize) -> Vec<Sample> {
    (0..n).map(|i| sample(server, start + i as i64 * step_ms, i as f64)).collect()
}

/// Write in chunks the store accepts.
pub async fn write_all(store: &Store, samples: Vec<Sample>) -> u64 {
    let mut inserted = 0;
    for chunk in samples.chunks(5_000) {
        inserted += store.write(chunk.to_vec()).await.unwrap().inserted;
    }
    inserted
}

/// Every point of a tier in a range, following cursors.
pub async fn all_points(
    store: &Store,
    tier: store::Tier,
    server: &str,
    metrics: &[&str],
    from: i64,
    to: i64,
) -> Vec<store::Point> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.history_at(tier, server, metrics, from, to, 1000, cursor.as_deref()).await.unwrap();
        out.extend(page.points);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// The SQLite-only tests' store (file-level behaviour: crash copies, corruption, backups).
pub fn config(dir: &TempDir) -> Config {
    let mut cfg = Config::new(dir.path().join("metrics.db"));
    cfg.batch_linger = Duration::ZERO;
    cfg
}

pub fn open(dir: &TempDir) -> Store {
    Store::open(config(dir)).unwrap()
}
