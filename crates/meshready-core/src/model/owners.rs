//! Ownership on a live cluster: the top-level workload each running Pod belongs to (Pod →
//! ReplicaSet → Deployment, Pod → Job → CronJob), following controller `ownerReferences`
//! through the objects of the input.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::finding::Finding;
use crate::source::{Node, Object};

/// The controlling owner `(kind, name)` of an object, from its `ownerReferences`.
fn controller(object: &Object) -> Option<(&str, &str)> {
    object
        .root
        .at(&["metadata", "ownerReferences"])
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
        .and_then(|r| {
            Some((
                r.get("kind").and_then(Node::as_str)?,
                r.get("name").and_then(Node::as_str)?,
            ))
        })
}

/// The top-level workload an object belongs to by its own `ownerReferences`, even when the
/// owners are not in the input (admission sees a Pod with a ReplicaSet owner, but its context
/// holds the Deployment): a ReplicaSet named `<deployment>-<pod-template-hash>` stands for the
/// Deployment, any other controller for itself. `None` for objects without a controller.
#[must_use]
pub fn implied_top_owner(object: &Object) -> Option<(&str, std::borrow::Cow<'_, str>)> {
    let (kind, name) = controller(object)?;
    if kind == "ReplicaSet"
        && let Some(hash) = object.label("pod-template-hash")
        && let Some(deployment) = name.strip_suffix(&*hash).and_then(|n| n.strip_suffix('-'))
        && !deployment.is_empty()
    {
        return Some(("Deployment", std::borrow::Cow::Borrowed(deployment)));
    }
    Some((kind, std::borrow::Cow::Borrowed(name)))
}

/// Whether a Pod has finished (`status.phase` `Succeeded` or `Failed`).
#[must_use]
pub fn is_finished(pod: &Object) -> bool {
    matches!(
        pod.root.at(&["status", "phase"]).and_then(Node::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// Index of objects by (kind, namespace, name), to walk owner chains: built once per check
/// ([`crate::check`]) and shared by the rules ([`crate::model::Model::owners`]), the
/// suppressions and the pod counts.
#[derive(Debug)]
pub struct Owners<'a> {
    objects: &'a [Object],
    by_ref: rustc_hash::FxHashMap<(&'a str, &'a str, &'a str), usize>,
}

impl<'a> Owners<'a> {
    /// Indexes the objects.
    #[must_use]
    pub fn new(objects: &'a [Object]) -> Self {
        let by_ref = objects
            .iter()
            .enumerate()
            .map(|(i, o)| ((o.kind.as_str(), o.namespace.as_str(), o.name.as_str()), i))
            .collect();
        Self { objects, by_ref }
    }

    /// Whether this indexes exactly `objects` (the same slice, not an equal one).
    #[must_use]
    pub fn indexes(&self, objects: &[Object]) -> bool {
        std::ptr::eq(self.objects, objects)
    }

    /// The index of the object `(kind, namespace, name)` (the last of duplicates).
    #[must_use]
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<usize> {
        self.by_ref.get(&(kind, namespace, name)).copied()
    }

    /// The index of the top owner of object `index` that the input contains (itself when its
    /// controller is not in the input).
    #[must_use]
    pub fn top(&self, index: usize) -> usize {
        let mut current = index;
        // Owner chains are short (Pod → ReplicaSet → Deployment); the bound guards cycles.
        for _ in 0..8 {
            let object = &self.objects[current];
            let Some((kind, name)) = controller(object) else {
                break;
            };
            match self.by_ref.get(&(kind, object.namespace.as_str(), name)) {
                Some(&owner) if owner != current => current = owner,
                _ => break,
            }
        }
        current
    }

    /// How many running Pods of the input each top owner has (Pods without an owner in the
    /// input, and finished Pods, are not counted).
    #[must_use]
    pub fn pod_counts(&self) -> HashMap<usize, usize> {
        self.pods_by_top()
            .into_iter()
            .enumerate()
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// [`Owners::pod_counts`] by object index (0: no pods).
    fn pods_by_top(&self) -> Vec<usize> {
        // The owner chains are walked in parallel (on a live cluster: one per group of pods).
        let tops: Vec<(usize, usize)> = self
            .objects
            .par_iter()
            .enumerate()
            .filter(|(_, object)| object.kind == "Pod" && !is_finished(object))
            .filter_map(|(i, object)| {
                let top = self.top(i);
                (top != i).then(|| (top, object.count()))
            })
            .collect();
        let mut counts = vec![0; self.objects.len()];
        for (top, count) in tops {
            counts[top] += count;
        }
        counts
    }
}

/// `(N pods)`: the suffix for a finding about a workload whose N running pods it affects.
#[must_use]
pub fn pods_suffix(count: usize) -> String {
    if count == 1 {
        " (1 pod)".into()
    } else {
        format!(" ({count} pods)")
    }
}

/// On a live cluster, appends the number of running pods to every finding about a workload
/// that owns pods in the input, except findings that count pods themselves (`skip`).
pub fn annotate_pod_counts(owners: &Owners<'_>, findings: &mut [Finding]) {
    let counts = owners.pods_by_top();
    if counts.iter().all(|&c| c == 0) {
        return;
    }
    for f in findings {
        // Findings that count their own pods (IST0103: those missing the proxy) keep theirs.
        if f.pods.is_some() {
            continue;
        }
        if let Some(&count) = owners
            .find(&f.object.kind, &f.object.namespace, &f.object.name)
            .and_then(|i| counts.get(i))
            .filter(|&&c| c > 0)
        {
            f.pods = Some(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    const CHAIN: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: shop
  ownerReferences: [{kind: Deployment, name: web, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-a
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: web-1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-b
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: web-1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: gone, controller: true}]
";

    #[test]
    fn pods_count_at_the_top_owner() {
        let loaded = load_str("c.yaml", CHAIN, &LoadOptions::default());
        let owners = Owners::new(&loaded.objects);
        assert_eq!(owners.top(2), 0);
        assert_eq!(owners.top(4), 4);
        assert_eq!(owners.pod_counts(), HashMap::from([(0, 2)]));
    }
}
