#!/usr/bin/env python3
"""Deterministic generator of a mesh-shaped cluster dump for meshready's benchmarks.

Usage: gen_mesh.py --objects N [--seed S] [--out FILE]

Unlike ../shared/bench/gen_synthetic.py (Deployment + Service pairs only), this also emits what
the admission rules read, so they are exercised at scale: Namespaces with injection and Pod
Security Admission labels, ServiceAccounts, Roles/RoleBindings and ClusterRoles granting `use`
of PodSecurityPolicies, PSPs, and workloads of several kinds. About N objects are written.
"""
import argparse
import random
import sys

LEVELS = ["privileged", "baseline", "restricted"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    out = open(args.out, "w") if args.out else sys.stdout
    w = out.write
    per_ns = 100
    namespaces = max(1, args.objects // per_ns)
    # Cluster-wide: two PSPs and a ClusterRole that may use the permissive one.
    w("---\napiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: restricted\n"
      "spec:\n  privileged: false\n  allowPrivilegeEscalation: false\n  requiredDropCapabilities: [ALL]\n"
      "  runAsUser: {rule: MustRunAsNonRoot}\n  seLinux: {rule: RunAsAny}\n  supplementalGroups: {rule: RunAsAny}\n"
      "  fsGroup: {rule: RunAsAny}\n  volumes: [configMap, secret, emptyDir, projected]\n")
    w("---\napiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: istio-sidecar\n"
      "spec:\n  allowedCapabilities: [NET_ADMIN, NET_RAW]\n  runAsUser: {rule: RunAsAny}\n  seLinux: {rule: RunAsAny}\n"
      "  supplementalGroups: {rule: RunAsAny}\n  fsGroup: {rule: RunAsAny}\n  volumes: ['*']\n")
    w("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: psp-istio-sidecar\n"
      "rules:\n- apiGroups: [policy]\n  resources: [podsecuritypolicies]\n  resourceNames: [istio-sidecar]\n  verbs: [use]\n")
    written = 4
    i = 0
    for n in range(namespaces):
        ns = f"team-{n}"
        level = LEVELS[n % 3]
        inject = "enabled" if n % 5 else "disabled"
        w(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    istio-injection: {inject}\n"
          f"    pod-security.kubernetes.io/enforce: {level}\n    pod-security.kubernetes.io/enforce-version: v1.{25 + n % 12}\n")
        if n % 2 == 0:
            w(f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: sidecar-psp\n  namespace: {ns}\n"
              f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: psp-istio-sidecar}}\n"
              f"subjects:\n- {{kind: Group, apiGroup: rbac.authorization.k8s.io, name: 'system:serviceaccounts:{ns}'}}\n")
            written += 1
        written += 1
        while written < (n + 1) * per_ns and written < args.objects:
            name = f"svc-{i}"
            kind = rnd.choices(["Deployment", "StatefulSet", "DaemonSet", "Job"], weights=[80, 10, 5, 5])[0]
            uid = 1337 if rnd.random() < 0.03 else rnd.randint(1000, 60000)
            add_caps = "\n            add: [NET_ADMIN]" if rnd.random() < 0.02 else ""
            port = rnd.choice([8080, 9090, 3000, 15090 if rnd.random() < 0.05 else 8081])
            pname = rnd.choice(["http", "grpc", "tcp-db", "web", ""])
            version = f"\n        version: v{rnd.randint(1, 3)}" if rnd.random() > 0.05 else ""
            w(f"---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n")
            spec_head = "  template:\n" if kind != "Job" else "  backoffLimit: 1\n  template:\n"
            w(f"---\napiVersion: {'batch/v1' if kind == 'Job' else 'apps/v1'}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
              f"  labels: {{app: {name}}}\nspec:\n{spec_head}    metadata:\n      labels:\n        app: {name}{version}\n"
              f"    spec:\n      serviceAccountName: {name}\n      securityContext:\n        runAsNonRoot: true\n"
              f"        seccompProfile: {{type: RuntimeDefault}}\n      containers:\n      - name: main\n"
              f"        image: registry.example.com/{ns}/{name}:1.{rnd.randint(0, 40)}\n        ports:\n        - name: main\n"
              f"          containerPort: {port}\n        env:\n        - name: LOG_LEVEL\n          value: info\n"
              f"        resources:\n          requests: {{cpu: 50m, memory: 64Mi}}\n        securityContext:\n"
              f"          runAsUser: {uid}\n          allowPrivilegeEscalation: false\n          capabilities:\n"
              f"            drop: [ALL]{add_caps}\n")
            port_name = f"\n    name: {pname}" if pname else ""
            w(f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n"
              f"  selector: {{app: {name}}}\n  ports:\n  - port: 80{port_name}\n    targetPort: main\n")
            written += 3
            i += 1
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
