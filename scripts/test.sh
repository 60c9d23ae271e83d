#!/usr/bin/env bash
# The whole test suite: every crate's unit, integration and simulator tests, on PostgreSQL
# and SQLite. Starts PostgreSQL first when it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
cargo test --workspace --all-targets "$@"
