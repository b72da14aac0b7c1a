//! Storage size property: history for the six core metrics fits in 1 MiB per server per 30 days.

use tempfile::TempDir;

#[tokio::test]
async fn thirty_days_fit_in_one_mebibyte_per_server() {
    let dir = TempDir::new().unwrap();
    // One server keeps the debug test quick (the example measures more); it is also the
    // pessimistic case, as the fixed schema/metadata pages are not shared with other servers.
    let report = store::bench::bytes_per_server_30d(dir.path(), 1, 30).await.unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.samples_written, 30 * 17_280);
    assert!(report.bytes_per_server_30d < 1024 * 1024, "{report:?}");
}
