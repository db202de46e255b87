#!/usr/bin/env bash
# A bounded fuzzing run for CI: every target for SECONDS (default 30) each.
#
#   fuzz/run-bounded.sh [SECONDS]
#
# Installs cargo-fuzz if it is missing, seeds fuzz/corpus/ (fuzz/seed.sh), builds and runs each
# target with libFuzzer's -max_total_time. Exit 1 on any crash, panic, invariant violation,
# timeout or out-of-memory (the reproducer is in fuzz/artifacts/<target>/); exit 0 with a loud
# SKIP only when cargo-fuzz cannot work on this toolchain at all.
#
# Environment:
#   FUZZ_TARGETS          targets to run (default: every target in fuzz/Cargo.toml)
#   FUZZ_SANITIZER        none (default; works on stable Rust) or address (needs nightly
#                         features, enabled here with RUSTC_BOOTSTRAP=1)
#   FUZZ_RUNS             run exactly this many inputs per target with a fixed seed (-runs, -seed=1)
#                         instead of a time budget, so that a CI run is reproducible; SECONDS
#                         then only caps the time
set -uo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "usage: $0 [SECONDS]  (a positive whole number of seconds per target)" >&2
    exit 2
fi
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir" || exit 2
sanitizer="${FUZZ_SANITIZER:-none}"
targets="${FUZZ_TARGETS:-load split locate admission_review}"

skip() {
    echo
    echo "############################################################################"
    echo "## SKIP: fuzzing did not run: $1"
    echo "############################################################################"
    exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run-bounded.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked || skip "cargo-fuzz cannot be installed"
fi
cargo fuzz --version

if [[ "$sanitizer" != none ]]; then
    # -Zsanitizer is a nightly flag; the stable compiler accepts it with RUSTC_BOOTSTRAP=1.
    export RUSTC_BOOTSTRAP=1
fi

./seed.sh || exit 1

# Build first, so that a toolchain that cannot build fuzz targets at all is told apart from a
# target that does not compile (a failure).
build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT
if ! cargo fuzz build --sanitizer "$sanitizer" >"$build_log" 2>&1; then
    tail -n 40 "$build_log"
    if grep -qiE "only (accepted|available) on the nightly|requires a nightly|unknown codegen option|-Z.* is unstable|error: the option \`Z\`" "$build_log" \
        && ! grep -q "^error\[E" "$build_log"; then
        skip "this toolchain cannot build cargo-fuzz targets with --sanitizer $sanitizer"
    fi
    echo "run-bounded.sh: FAILED: the fuzz targets do not build" >&2
    exit 1
fi

failed=()
summary=()
for target in $targets; do
    echo
    echo "=== fuzz $target for ${seconds}s (sanitizer: $sanitizer)"
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    extra=()
    if [[ -n "${FUZZ_RUNS:-}" ]]; then
        extra=(-runs="$FUZZ_RUNS" -seed=1)
    fi
    cargo fuzz run "$target" --sanitizer "$sanitizer" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1
    status=$?
    runs="$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)"
    if [[ $status -ne 0 ]]; then
        # The panic or sanitizer report, without libFuzzer's byte dump of the input.
        grep -E -A12 "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY:" "$log" | grep -vE "^\s+\[[0-9, ]+\]$" | head -n 60
        grep -E -A1 "^Failing input:" "$log"
        failed+=("$target")
        summary+=("$target: CRASH (exit $status) $(ls -t "artifacts/$target" 2>/dev/null | head -n 1)")
    else
        summary+=("$target: ok, ${runs:-no stats}")
    fi
    rm -f "$log"
done

echo
echo "=== fuzz summary (${seconds}s per target, sanitizer: $sanitizer)"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]} (reproduce: cd fuzz && cargo fuzz run --sanitizer $sanitizer <target> artifacts/<target>/<file>)" >&2
    exit 1
fi
