//! PostgreSQL over TLS (rustls, ring), against the local server's own certificate: `require`
//! encrypts, `verify-full` checks the chain and the name, and a wrong name or unknown issuer is
//! refused. Skips (fails under strict) when the server does not offer TLS.

use std::time::Duration;

use crate::common::*;
use store::{ErrorKind, Store};

/// The certificate Debian's PostgreSQL serves by default (`ssl_cert_file`), if TLS is on.
async fn server_cert(db: &TestDb, test: &str) -> Option<String> {
    let client = db.pg_client().await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let file: String = client.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    let path = std::path::Path::new(&file);
    if ssl != "on" || !path.is_file() {
        testkit::skip(test, "the local PostgreSQL does not offer TLS (ssl = on, ssl_cert_file readable)");
        return None;
    }
    Some(std::fs::canonicalize(path).unwrap().display().to_string())
}

fn url(db: &TestDb, host: &str, params: &str) -> String {
    db.url().replace("127.0.0.1", host).replace("sslmode=disable", params)
}

async fn encrypted_sessions(db: &TestDb) -> i64 {
    db.pg_client()
        .await
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE datname = current_database() AND ssl AND application_name = 'openmanager'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_and_verify_full_connect_over_tls_and_a_wrong_name_is_refused() {
    let test = "require_and_verify_full_connect_over_tls_and_a_wrong_name_is_refused";
    let Some(db) = TestDb::postgres(test).await else { return };
    let Some(cert) = server_cert(&db, test).await else { return };
    let mut cfg = db.config();
    cfg.connect_timeout = Duration::from_secs(3);

    // require: encrypted, certificate not authenticated (libpq's meaning).
    let store = Store::open_url(Some(&url(&db, "127.0.0.1", "sslmode=require")), cfg.clone()).await.unwrap();
    store.write(series("tls", T0, 5_000, 5)).await.unwrap();
    assert!(encrypted_sessions(&db).await >= 1);
    store.close().await.unwrap();

    // verify-full with the server's certificate as root, by the name it carries.
    let ok = url(&db, "localhost", &format!("sslmode=verify-full&sslrootcert={cert}"));
    let store = Store::open_url(Some(&ok), cfg.clone()).await.unwrap();
    assert_eq!(store.latest("tls").await.unwrap().unwrap().timestamp_ms, T0 + 4 * 5_000);
    store.close().await.unwrap();

    // The same root, but an address the certificate does not name: refused under verify-full,
    // accepted under verify-ca (chain only).
    let wrong_name = url(&db, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={cert}"));
    let err = Store::open_url(Some(&wrong_name), cfg.clone()).await.err().unwrap();
    // The database is out of reach (the hub answers 503 and reports it), and the message says why.
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    eprintln!("verify-full, wrong name: {err}");
    let chain_only = url(&db, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={cert}"));
    Store::open_url(Some(&chain_only), cfg.clone()).await.unwrap().close().await.unwrap();

    // A root that did not sign the server's certificate (any public CA from the system bundle).
    let other_ca = std::fs::read_dir("/usr/share/ca-certificates/mozilla").ok().and_then(|mut d| {
        d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "crt")))
    });
    match other_ca {
        Some(ca) => {
            let unknown = url(&db, "localhost", &format!("sslmode=verify-full&sslrootcert={}", ca.display()));
            let err = Store::open_url(Some(&unknown), cfg).await.err().unwrap();
            assert!(err.to_string().contains("certificate"), "{err}");
            eprintln!("verify-full, another root: {err}");
        }
        None => testkit::skip(test, "no public CA file to test an unknown issuer (apt-get install ca-certificates)"),
    }
}
