#!/usr/bin/env bash
# The benchmark: builds meli-stock and meli-bench in release mode, makes sure PostgreSQL
# answers on 127.0.0.1:5432, then runs meli-bench with the given flags from the repository
# root. `scripts/bench.sh --output BENCHMARKS.md` regenerates BENCHMARKS.md;
# `scripts/bench.sh --sizes 1000 --baseline-sample 20` is a quick try.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
cargo build --release -q -p meli-stock -p meli-bench
exec target/release/meli-bench "$@"
