//! `--scope`: splits the loaded objects into groups that are checked as separate clusters (one
//! per file or per directory), so that unrelated manifests side by side in a repository do not
//! select, admit or detect each other.

use std::collections::BTreeMap;

use crate::settings::Scope;
use crate::source::Loaded;

/// The groups of object indices to check apart, in input order; `None` for the whole input as
/// one cluster. Objects that did not come from a file (API objects) form one group.
#[must_use]
pub fn partitions(loaded: &Loaded, scope: Scope) -> Option<Vec<Vec<usize>>> {
    if scope == Scope::Cluster {
        return None;
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, object) in loaded.objects.iter().enumerate() {
        let path = loaded
            .files
            .get(object.origin.file)
            .map_or("", |f| f.path.as_str());
        groups.entry(key(path, scope)).or_default().push(i);
    }
    Some(groups.into_values().collect())
}

/// The group of a file: itself, or its directory (`/` or `\` separated; `""` for the working
/// directory and stdin).
#[must_use]
pub fn key(path: &str, scope: Scope) -> String {
    match scope {
        Scope::Cluster => String::new(),
        Scope::File => path.to_string(),
        Scope::Directory => path
            .rfind(['/', '\\'])
            .map_or_else(String::new, |at| path[..at].to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Input, LoadOptions, load};
    use crate::{CheckOptions, check};

    const PSP_DENY: &str = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: strict}\nspec: {allowedCapabilities: []}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: use-strict}\nrules: [{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [strict]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: use-strict}\nsubjects: [{kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}]\n";
    const APP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web, version: v1}}\n    spec: {containers: [{name: web, image: web}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{name: http, port: 80}]}\n";

    fn input(path: &str, text: &str) -> Input {
        Input {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn codes(scope: Scope) -> (Vec<String>, crate::Summary) {
        let loaded = load(
            vec![
                input("archive/psp/psp.yaml", PSP_DENY),
                input("apps/web/web.yaml", APP),
            ],
            &LoadOptions::default(),
        );
        let report = check(
            &loaded,
            &CheckOptions {
                scope,
                // PodSecurityPolicy exists up to Kubernetes 1.24 only.
                settings: crate::Settings {
                    inject: crate::settings::InjectSettings {
                        kubernetes_version: Some(24),
                        ..Default::default()
                    },
                    ..crate::Settings::default()
                },
                ..CheckOptions::default()
            },
        );
        (
            report.findings.iter().map(|f| f.code.to_string()).collect(),
            report.summary,
        )
    }

    #[test]
    fn a_policy_in_another_directory_no_longer_denies_the_app() {
        let (cluster, cluster_summary) = codes(Scope::Cluster);
        assert!(cluster.contains(&"MR0010".to_string()), "{cluster:?}");
        for scope in [Scope::Directory, Scope::File] {
            let (apart, summary) = codes(scope);
            assert!(
                !apart.contains(&"MR0010".to_string()),
                "{scope:?}: {apart:?}"
            );
            // The counts are the same whatever the scope.
            assert_eq!(summary.objects, cluster_summary.objects);
            assert_eq!(summary.workloads, cluster_summary.workloads);
            assert_eq!(summary.in_mesh, cluster_summary.in_mesh);
        }
    }

    #[test]
    fn keys() {
        assert_eq!(key("a/b/c.yaml", Scope::Directory), "a/b");
        assert_eq!(key("c.yaml", Scope::Directory), "");
        assert_eq!(key("a/b/c.yaml", Scope::File), "a/b/c.yaml");
    }
}
