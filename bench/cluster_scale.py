#!/usr/bin/env python3
"""`meshready cluster` at scale (issue 13): wall time and peak RSS of
`meshready cluster -A -o json` against a loopback API stand-in serving N injected pods
(crates/meshready-cluster/examples/fake_apiserver.rs), next to the floor: the time a plain HTTP
client takes to download the same pages, measured in the same run against the same server.

    cargo build --release -p meshready
    cargo build --release -p meshready-cluster --example fake_apiserver
    python3 bench/cluster_scale.py                      # N = 15k, 60k, 150k
    python3 bench/cluster_scale.py --pods 3000 --verify # findings == check --live on the full objects

meshready runs with `--qps 0` (no client-side rate limit, like the floor client: what meshready
itself costs) and once with its default limit (50 requests/s in bursts of 300, which alone needs
(requests - 300) / 50 seconds once the burst is spent).

With --repeat K (default 5), the floor download and the `--qps 0` run alternate K times against
the same server; the table gives the medians of the floor, of meshready's wall time and of the
K ratios (each run over the floor measured just before it), the range of the ratios, and the
highest peak RSS. On a shared 2-core machine one pair swings by ±30 %; the medians do not.

With --verify, every object the stand-in serves is also downloaded whole (status, managedFields
and all) into a manifest file, and `meshready check --live` on it must report exactly the
findings of `meshready cluster` (locations aside).
"""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 500
# What `meshready cluster -A` lists on the stand-in (PSP and SCC are not served there, so RBAC
# objects and ServiceAccounts are not read), in its order.
LISTS = [
    ("/api/v1/namespaces", "v1", "Namespace"),
    ("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("/api/v1/services", "v1", "Service"),
    ("/apis/apps/v1/deployments", "apps/v1", "Deployment"),
    ("/apis/apps/v1/statefulsets", "apps/v1", "StatefulSet"),
    ("/apis/apps/v1/daemonsets", "apps/v1", "DaemonSet"),
    ("/apis/apps/v1/replicasets", "apps/v1", "ReplicaSet"),
    ("/api/v1/replicationcontrollers", "v1", "ReplicationController"),
    ("/apis/batch/v1/jobs", "batch/v1", "Job"),
    ("/apis/batch/v1/cronjobs", "batch/v1", "CronJob"),
    ("/api/v1/pods", "v1", "Pod"),
]
GETS = ["/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector"]
DISCOVERY = [
    "/api/v1", "/apis/apps/v1", "/apis/batch/v1", "/apis/rbac.authorization.k8s.io/v1",
    "/apis/admissionregistration.k8s.io/v1", "/apis/policy/v1beta1", "/apis/security.openshift.io/v1",
]
TOKEN = re.compile(rb'"continue":"([^"]+)"')


def start_server(server, pods, kubeconfig):
    proc = subprocess.Popen(
        [server, "--pods", str(pods), "--kubeconfig", kubeconfig],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = re.search(r"http://[0-9.:]+", line).group(0)
    return proc, url


def download(url, keep=None):
    """Downloads every page meshready reads, on one keep-alive connection; returns bytes read."""
    host = url.split("//", 1)[1]
    conn = http.client.HTTPConnection(host)
    total = 0

    def get(path):
        nonlocal total
        conn.request("GET", path, headers={"Authorization": "Bearer fake-token", "Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        total += len(body)
        return resp.status, body

    for path in DISCOVERY:
        get(path)
    for path, api_version, kind in LISTS:
        token = None
        while True:
            query = f"?limit={LIMIT}" + (f"&continue={token}" if token else "")
            status, body = get(path + query)
            if keep is not None and status == 200:
                for item in json.loads(body)["items"]:
                    item["apiVersion"], item["kind"] = api_version, kind
                    keep.append(item)
            # The continue token comes before the items: no need to parse the page.
            match = TOKEN.search(body, 0, 512)
            if not match:
                break
            token = match.group(1).decode()
    for path in GETS:
        status, body = get(path)
        if keep is not None and status == 200:
            keep.append(json.loads(body))
    conn.close()
    return total


def run_meshready(binary, args):
    """Runs meshready; returns (exit code, wall seconds, peak RSS in MB, stdout)."""
    out = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen([binary] + args, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode()
    out.seek(0)
    return proc.returncode, wall, usage.ru_maxrss / 1024, out.read().decode(), stderr


def findings(text):
    doc = json.loads(text)
    out = []
    for f in doc["findings"]:
        f.pop("location", None)
        out.append(json.dumps(f, sort_keys=True))
    return sorted(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", default="15000,60000,150000")
    parser.add_argument("--bin", default=os.path.join(ROOT, "target/release/meshready"))
    parser.add_argument("--server", default=os.path.join(ROOT, "target/release/examples/fake_apiserver"))
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        for pods in [int(p) for p in args.pods.split(",")]:
            server, url = start_server(args.server, pods, kubeconfig)
            try:
                command = ["cluster", "--kubeconfig", kubeconfig, "-A", "-o", "json", "--timeout", "30m"]
                pairs = []
                stdout = None
                for _ in range(max(args.repeat, 1)):
                    start = time.monotonic()
                    served = download(url)
                    floor = time.monotonic() - start
                    code, wall, rss, out, stderr = run_meshready(args.bin, command + ["--qps", "0"])
                    if code not in (0, 1):
                        sys.exit(f"meshready exited with {code}: {stderr}")
                    if stdout is not None and findings(out) != findings(stdout):
                        sys.exit("meshready found otherwise on a repeated run")
                    stdout = out
                    pairs.append((floor, wall, rss))
                    print(f"  floor {floor:.2f} s, meshready {wall:.2f} s ({wall / floor:.2f}x), "
                          f"peak RSS {rss:.0f} MB", file=sys.stderr)
                ratios = sorted(w / f for f, w, _ in pairs)
                floor = statistics.median(f for f, _, _ in pairs)
                wall = statistics.median(w for _, w, _ in pairs)
                rss = max(r for _, _, r in pairs)
                code, limited, _, limited_stdout, stderr = run_meshready(args.bin, command)
                if code not in (0, 1) or findings(limited_stdout) != findings(stdout):
                    sys.exit(f"meshready with its rate limit exited with {code} or found otherwise: {stderr}")
                got = findings(stdout)
                summary = json.loads(stdout)["summary"]
                verified = ""
                if args.verify:
                    objects = []
                    download(url, keep=objects)
                    dump = os.path.join(tmp, "full.yaml")
                    with open(dump, "w") as f:
                        for o in objects:
                            f.write("---\n")
                            json.dump(o, f)
                            f.write("\n")
                    code2, _, _, stdout2, stderr2 = run_meshready(
                        args.bin, ["check", "--live", "--no-config", "--max-input-size", "100000000000", "-o", "json", dump])
                    if code2 not in (0, 1):
                        sys.exit(f"check --live exited with {code2}: {stderr2}")
                    want = findings(stdout2)
                    verified = "identical" if want == got else "DIFFERENT"
                    if want != got:
                        print("only in cluster:", sorted(set(got) - set(want))[:5], file=sys.stderr)
                        print("only in check --live:", sorted(set(want) - set(got))[:5], file=sys.stderr)
            finally:
                server.kill()
                server.wait()
            rows.append((pods, served, floor, wall, ratios, limited, rss, len(got), verified))
            print(f"{pods} pods: {served / 1e6:.0f} MB served, floor {floor:.2f} s, "
                  f"meshready --qps 0 {wall:.2f} s ({statistics.median(ratios):.2f}x, "
                  f"{ratios[0]:.2f}-{ratios[-1]:.2f}x over {len(ratios)} runs), with its rate limit "
                  f"{limited:.2f} s, peak RSS {rss:.0f} MB, {summary['objects']} objects, "
                  f"{len(got)} findings {verified}", file=sys.stderr)

    print("| pods | JSON served | download floor | `meshready cluster -A -o json --qps 0` | wall / floor (range) | default rate limit | peak RSS | findings |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for pods, served, floor, wall, ratios, limited, rss, nfindings, verified in rows:
        note = f" ({verified} to `check --live`)" if verified else ""
        spread = f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
        print(f"| {pods:,} | {served / 1e6:.0f} MB | {floor:.2f} s | {wall:.2f} s | {statistics.median(ratios):.2f}x{spread} | {limited:.2f} s | {rss:.0f} MB | {nfindings}{note} |")


if __name__ == "__main__":
    main()
