#!/usr/bin/env bash
# The webhook's live context under churn, on 127.0.0.1 only: a Kubernetes API stand-in serves
# 500 Namespaces and 10,000 Services and changes CHURN Services a second; the webhook syncs its
# context from it while a client sends RATE AdmissionReviews a second over HTTPS for SECONDS.
# Prints client p50/p99/max, the server's review histogram, context rebuilds, size and RSS.
# Usage: bench/webhook_churn.sh [SECONDS] [CHURN] [RATE]   (defaults 20 200 200)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
churn="${2:-200}"
rate="${3:-200}"
cargo build --release -q -p meshready-webhook --example webhook_churn
exec ./target/release/examples/webhook_churn --seconds "$seconds" --churn "$churn" --rate "$rate"
