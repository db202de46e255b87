#!/usr/bin/env bash
# Bounded loopback load test of `meshready webhook`: a fixed number of AdmissionReviews over a
# fixed number of HTTPS connections to 127.0.0.1 only. Prints reviews/s, p50/p99 latency, errors.
# Usage: bench/webhook_load.sh [REQUESTS] [CONCURRENCY]   (defaults 20000 16)
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-20000}"
concurrency="${2:-16}"
cargo build --release -q -p meshready-webhook --example webhook_load
exec ./target/release/examples/webhook_load --requests "$requests" --concurrency "$concurrency"
