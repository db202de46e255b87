#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/<target>/ from ../shared/corpora and
# ../shared/conformance at run time (nothing third-party is copied into the repository;
# fuzz/corpus/ is gitignored). Deterministic: the same shared/ gives the same seeds.
#
#   fuzz/seed.sh [SHARED_DIR]     (default: $MESHREADY_SHARED, else <workspace>/../shared)
#
# Seeds: up to 300 small YAML files for `load` and `split` (plus a few as JSON), single
# documents from them for `locate`, and AdmissionReview bodies that wrap objects from them
# (Pods from the PSA fixtures, workloads, Services, Namespaces) for `admission_review`.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${1:-${MESHREADY_SHARED:-$fuzz_dir/../../shared}}"
corpus="$fuzz_dir/corpus"

if [[ ! -d "$shared/corpora" && ! -d "$shared/conformance" ]]; then
    echo "seed.sh: no $shared/corpora or $shared/conformance; the targets start from empty corpora" >&2
    mkdir -p "$corpus"/{load,split,locate,admission_review}
    exit 0
fi
command -v python3 >/dev/null || { echo "seed.sh: python3 is required" >&2; exit 1; }

python3 - "$shared" "$corpus" <<'PY'
import hashlib, json, os, re, sys

shared, corpus = sys.argv[1], sys.argv[2]
MAX_FILE = 16 * 1024
WANT_FILES = 300

def files_under(*roots):
    out = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.path.join(shared, root)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml")):
                    path = os.path.join(dirpath, name)
                    if 0 < os.path.getsize(path) <= MAX_FILE:
                        out.append(path)
    return out

def spread(items, n):
    """n items evenly spread over the list (deterministic)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]

def write(target, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)

corpora = files_under("corpora")
psa = files_under("conformance/psa")
other = files_under("conformance/istio-analyzers", "conformance/psa-notes")
chosen = spread(corpora, 200) + other[:60] + spread(psa, WANT_FILES - 200 - min(len(other), 60))

docs = []
for path in chosen:
    with open(path, "rb") as f:
        data = f.read()
    write("load", data)
    write("split", data)
    text = data.decode("utf-8", "replace")
    for doc in re.split(r"(?m)^(?:---|\.\.\.)[ \t]*(?:#.*)?$", text):
        if doc.strip() and len(docs) < 2000:
            docs.append(doc)
for doc in spread(docs, 300):
    write("locate", doc)

try:
    import yaml
except ImportError:
    yaml = None
    print("seed.sh: python3 has no PyYAML; no JSON or AdmissionReview seeds from the corpora", file=sys.stderr)

objects = []
if yaml is not None:
    for path in chosen:
        try:
            with open(path, encoding="utf-8") as f:
                for obj in yaml.safe_load_all(f):
                    if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
                        objects.append(obj)
        except Exception:
            pass  # Helm templates and the like: the YAML seeds above still cover them.

def jsonable(obj):
    return json.loads(json.dumps(obj, default=str))

HANDLED = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
           "Job", "CronJob", "PodTemplate", "DeploymentConfig", "Rollout", "Service", "Namespace"}
handled = [o for o in objects if o["kind"] in HANDLED]
rest = [o for o in objects if o["kind"] not in HANDLED]

for i, obj in enumerate(spread(handled, 30) + spread(rest, 5)):
    write("load", json.dumps(jsonable(obj), indent=2 if i % 2 else None) + "\n")

OPERATIONS = ["CREATE", "CREATE", "UPDATE", "DELETE", "CONNECT"]
for i, obj in enumerate(spread(handled, 250) + spread(rest, 20)):
    obj = jsonable(obj)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    api = str(obj.get("apiVersion", "v1"))
    group, _, version = api.rpartition("/")
    op = OPERATIONS[i % len(OPERATIONS)]
    request = {
        "uid": "00000000-0000-0000-0000-%012d" % i,
        "kind": {"group": group, "version": version, "kind": obj["kind"]},
        "resource": {"group": group, "version": version, "resource": obj["kind"].lower() + "s"},
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", "shop"),
        "operation": op,
        "userInfo": {"username": "fuzz"},
        "object": None if op == "DELETE" else obj,
        "oldObject": obj if op in ("UPDATE", "DELETE") else None,
        "dryRun": i % 7 == 0,
    }
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    write("admission_review", json.dumps(review, separators=(",", ":")))

for target in ("load", "split", "locate", "admission_review"):
    d = os.path.join(corpus, target)
    n = len(os.listdir(d)) if os.path.isdir(d) else 0
    print(f"seed.sh: {n} seeds in fuzz/corpus/{target}/")
PY
