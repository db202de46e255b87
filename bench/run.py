#!/usr/bin/env python3
"""Whole-process benchmark of `meshready check --output json`: wall time, peak RSS, objects/s,
the ratio to libyaml merely loading the same file (measured in the same run), and checkov when
it is installed. Loopback-free: reads local files only.

Usage: bench/run.py [--sizes 1000,10000,100000] [--repeat 3] [--keep DIR]
Generates inputs with ../shared/bench/gen_synthetic.py (Deployment+Service pairs) and
bench/gen_mesh.py (namespaces, RBAC, PSPs, several workload kinds), builds the release binary,
and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_GEN = os.path.join(ROOT, "..", "shared", "bench", "gen_synthetic.py")
MESH_GEN = os.path.join(ROOT, "bench", "gen_mesh.py")
BIN = os.path.join(ROOT, "target", "release", "meshready")


def run_measured(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd in a fresh child; returns (seconds, peak RSS in KiB of that child)."""
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if stdout is subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
        os.execvp(cmd[0], cmd)
    os.close(w)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(r)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited with {code}")
    return elapsed, usage.ru_maxrss


def best(cmd, repeat):
    runs = [run_measured(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def libyaml_load(path, repeat):
    code = ("import sys, yaml; list(yaml.load_all(open(sys.argv[1]), Loader=yaml.CSafeLoader))")
    try:
        import yaml  # noqa: F401
        if not hasattr(yaml, "CSafeLoader"):
            return None
    except ImportError:
        return None
    return best([sys.executable, "-c", code, path], repeat)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "meshready"], cwd=ROOT, check=True)
    work = args.keep or tempfile.mkdtemp(prefix="meshready-bench-")
    os.makedirs(work, exist_ok=True)
    checkov = shutil.which("checkov")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        inputs = []
        if os.path.exists(SHARED_GEN):
            path = os.path.join(work, f"synthetic-{size}.yaml")
            if not os.path.exists(path):
                subprocess.run([sys.executable, SHARED_GEN, "--pairs", str(size // 2), "--out", path], check=True)
            inputs.append(("gen_synthetic.py --pairs %d" % (size // 2), path))
        path = os.path.join(work, f"mesh-{size}.yaml")
        if not os.path.exists(path):
            subprocess.run([sys.executable, MESH_GEN, "--objects", str(size), "--out", path], check=True)
        inputs.append(("bench/gen_mesh.py --objects %d" % size, path))
        for label, path in inputs:
            mb = os.path.getsize(path) / 1e6
            secs, rss = best([BIN, "check", "--output", "json", path], args.repeat)
            objects = int(subprocess.run([BIN, "check", "--output", "json", path], capture_output=True, text=True)
                          .stdout.split('"objects": ')[1].split(",")[0])
            yaml_secs = libyaml_load(path, 1 if size >= 100000 else args.repeat)
            row = {"input": label, "mb": mb, "objects": objects, "secs": secs, "rss_mb": rss / 1024,
                   "yaml": yaml_secs, "checkov": None}
            if checkov and size <= 10000:
                row["checkov"] = run_measured([checkov, "-f", path, "--framework", "kubernetes", "--quiet"])
            rows.append(row)
            ratio = f"{secs / yaml_secs:.3f}" if yaml_secs else "n/a"
            print(f"{label}: {objects} objects, {mb:.1f} MB, {secs:.3f} s, {rss / 1024:.0f} MiB peak RSS "
                  f"({rss / 1024 / mb:.1f}x input), {objects / secs:,.0f} objects/s, libyaml {yaml_secs} s, "
                  f"ratio {ratio}", flush=True)
    print()
    print("| input | objects | size | wall | peak RSS | RSS / input | objects/s | libyaml load | meshready / libyaml |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        y = f"{r['yaml']:.2f} s" if r["yaml"] else "n/a"
        ratio = f"{r['secs'] / r['yaml']:.3f}" if r["yaml"] else "n/a"
        print(f"| `{r['input']}` | {r['objects']:,} | {r['mb']:.1f} MB | {r['secs']:.3f} s | {r['rss_mb']:.0f} MiB "
              f"| {r['rss_mb'] / r['mb']:.1f}x | {r['objects'] / r['secs']:,.0f} | {y} | {ratio} |")
    synth = [r for r in rows if r["input"].startswith("gen_synthetic")]
    if len(synth) >= 2:
        for a, b in zip(synth, synth[1:]):
            print(f"\ngrowth {a['objects']:,} -> {b['objects']:,} objects: {b['objects'] / a['objects']:.1f}x objects, "
                  f"{b['secs'] / a['secs']:.1f}x time")
    if not checkov:
        print("\ncheckov is not installed (pip install checkov to compare); skipped")


if __name__ == "__main__":
    main()
