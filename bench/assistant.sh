#!/usr/bin/env bash
# The local assistant's quality and speed on its evaluation set (crates/ai/tests/eval/: 838 questions in four files,
# half Korean, half English, expected values computed from a fixed simulated world), release build:
#   assistant_accuracy       share answered correctly (intent, language, every check)   target >= 0.95
#   assistant_clarify_rate   share answered with a clarifying question (only where the item expects one)
#   assistant_help_rate      share answered "I didn't understand"                       target < 0.01
#   assistant_p99_ms         engine time per answer, p99 over 10 passes (resolve + compose; the facts
#                            source's fetching is the hub's, not counted)             target < 5
# Also printed: p50, max, the held-out set's accuracy (written with the set, not tuned on), and the p99
# on a synthetic 1,000-server fleet with ten earlier questions per question (how the cost scales).
# Pass --failures to list the wrong answers, --cost for the intrinsic cost of the slowest questions.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p ai --example assistant_eval)
fi
"${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/assistant_eval" "$@"
