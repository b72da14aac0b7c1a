#!/usr/bin/env bash
# Bytes of stored history per server per 30 days, from the real encoding: 30 days of 5-second
# samples of the six core metrics, rolled up and retained as the hub does, file size after VACUUM.
# Target <= 1 MiB (ServerBee needs about 3.4 MiB).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
(cd "$ROOT" && cargo run --release -q -p store --example storage_bench -- --size-only) | tee /tmp/storage-bench.out
b=$(awk -F= '/^bytes_per_server_30d=/ {print $2}' /tmp/storage-bench.out)
echo "== results"
echo "storage_bytes_per_server_30d=$b   # target <= 1048576"
echo "storage_ratio_vs_serverbee=$(ratio "$b" 3565158)   # ServerBee ~3.4 MiB"
