//! `rediss://`: a private TLS-only redis-server with a certificate from a CA made here. The CA file
//! makes it work; another CA, or the system's roots, are refused; `#insecure` encrypts without
//! checking.

use std::path::PathBuf;

use cluster::{Cluster, ClusterConfig, Health};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::common::{PrivateRedis, config};

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn tls_config(url: &str, ca_file: Option<PathBuf>) -> ClusterConfig {
    ClusterConfig { ca_file, ..config(url, "om:", "a") }
}

#[tokio::test]
async fn rediss_works_with_its_ca_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = ca("cluster test CA");
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &good)
        .unwrap();
    let cert = write(dir.path(), "server.pem", &leaf.pem());
    let key = write(dir.path(), "server.key", &leaf_key.serialize_pem());
    let good_ca = write(dir.path(), "ca.pem", &good.pem());
    let wrong_ca = write(dir.path(), "wrong.pem", &ca("another CA").pem());
    let Some(redis) = PrivateRedis::start_tls("rediss_works_with_its_ca_and_refuses_others", &cert, &key) else {
        return;
    };
    let url = redis.url();
    assert!(url.starts_with("rediss://"));

    let ok = Cluster::connect(&tls_config(&url, Some(good_ca))).await.unwrap();
    assert!(ok.health().is_up(), "{:?}", ok.health());
    let cache = ok.cache();
    cache.set(b"k", b"over tls", std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(cache.get(b"k").await.unwrap().as_deref(), Some(&b"over tls"[..]));

    for (what, ca_file) in [("another CA", Some(wrong_ca)), ("the system's roots", None)] {
        let refused = Cluster::connect(&tls_config(&url, ca_file)).await.unwrap();
        let Health::Down { reason, .. } = refused.health() else {
            panic!("{what}: a certificate it cannot verify is refused")
        };
        assert!(reason.to_lowercase().contains("certificate") || reason.contains("UnknownIssuer"), "{what}: {reason}");
    }

    // `#insecure`: encrypted, not authenticated (some managed services use self-signed certificates).
    let insecure = Cluster::connect(&tls_config(&format!("{url}/#insecure"), None)).await.unwrap();
    assert!(insecure.health().is_up(), "{:?}", insecure.health());

    // Plain redis:// to a TLS port does not work either (and says so rather than hanging).
    let plain = Cluster::connect(&config(&url.replacen("rediss://", "redis://", 1), "om:", "b")).await.unwrap();
    assert!(!plain.is_up());

    // A CA file that is not PEM is a configuration error naming the key.
    let junk = write(dir.path(), "junk.pem", "not a certificate");
    let err = Cluster::connect(&tls_config(&url, Some(junk))).await.unwrap_err();
    assert_eq!(err.key, "ca_file");
}
