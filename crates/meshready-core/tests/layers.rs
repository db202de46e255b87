//! The core's top-level modules form layers without cycles: every `crate::<module>` reference
//! outside comments and test code is an edge, and the graph must be acyclic. A cycle is printed
//! as a path (`model -> admission -> model`) with the files that make each edge.
//!
//! The layers today, from the bottom: `source` (YAML with positions, kinds); `finding`,
//! `istio`, `psa`; `suppress`, `settings`; `model`; `rule`, `admission`; `rules`; `suppressed`,
//! `output`; and `lib.rs`, which ties them together and may use every module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Edges between top-level modules, each with the files that make it.
fn graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    sources(src, &mut files);
    let module_of = |path: &Path| -> String {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files.iter().map(|p| module_of(p)).collect();
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for path in &files {
        let from = module_of(path);
        if from == "lib" {
            continue;
        }
        let text = code(&std::fs::read_to_string(path).unwrap());
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let to: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if to != from && modules.contains(&to) && to != "lib" {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(path.strip_prefix(src).unwrap().display().to_string());
            }
        }
        // `use crate::{a, b}` groups.
        for (at, _) in text.match_indices("use crate::{") {
            let rest = &text[at + "use crate::{".len()..];
            let group = rest.split('}').next().unwrap_or_default();
            for item in group.split(',') {
                let to = item
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if to != from && modules.contains(&to) {
                    edges
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .insert(path.strip_prefix(src).unwrap().display().to_string());
                }
            }
        }
    }
    edges
}

fn find_cycle(edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn core_modules_have_no_cycles() {
    let edges = graph();
    assert!(edges.contains_key("rules"), "the scan found the modules");
    if let Some(cycle) = find_cycle(&edges) {
        let how: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} ({:?})", w[0], w[1], edges[&w[0]][&w[1]]))
            .collect();
        panic!("module cycle {}:\n{}", cycle.join(" -> "), how.join("\n"));
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;
    fn add(edges: &mut Graph, a: &str, b: &str) {
        edges
            .entry(a.into())
            .or_default()
            .insert(b.into(), BTreeSet::new());
    }
    let mut edges = Graph::new();
    add(&mut edges, "model", "source");
    add(&mut edges, "model", "admission");
    assert_eq!(find_cycle(&edges), None);
    add(&mut edges, "admission", "model");
    assert_eq!(
        find_cycle(&edges).map(|c| c.join(" -> ")).as_deref(),
        Some("admission -> model -> admission")
    );
}

/// Inside each directory module (`admission/`, `model/`, `source/`, ...), the files form no
/// cycle either (`super::x` and `crate::<dir>::x` references): PSP, SCC and what they share
/// (`admission/policy.rs`) each have one home.
#[test]
fn submodules_have_no_cycles() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    for dir in std::fs::read_dir(src).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let parent = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut files = Vec::new();
        sources(&dir, &mut files);
        let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().to_string();
        let names: BTreeSet<String> = files.iter().map(|p| stem(p)).collect();
        let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for path in &files {
            let from = stem(path);
            if from == "mod" {
                continue;
            }
            let text = code(&std::fs::read_to_string(path).unwrap());
            for prefix in ["super::".to_string(), format!("crate::{parent}::")] {
                for (at, _) in text.match_indices(&prefix) {
                    let rest = &text[at + prefix.len()..];
                    let mut targets = Vec::new();
                    if let Some(group) = rest.strip_prefix('{') {
                        let group = group.split('}').next().unwrap_or_default();
                        targets.extend(
                            group.split(',').map(|i| {
                                i.trim().split("::").next().unwrap_or_default().to_string()
                            }),
                        );
                    } else {
                        targets.push(
                            rest.chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect(),
                        );
                    }
                    for to in targets {
                        if to != from && to != "mod" && names.contains(&to) {
                            edges
                                .entry(from.clone())
                                .or_default()
                                .entry(to)
                                .or_default()
                                .insert(path.display().to_string());
                        }
                    }
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            panic!("cycle inside {parent}/: {}", cycle.join(" -> "));
        }
    }
}
