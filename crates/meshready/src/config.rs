//! The `.meshready.yaml` config file: parsing with positions, validation.
//!
//! ```yaml
//! rules:                       # per-rule severity, by code or name; `off` disables the rule
//!   IST0118: {severity: off}
//!   missing-version-label: {severity: warning}
//! ignore:                      # per-object ignores, e.g. for third-party charts
//! - codes: [IST0117]           # optional; default: every rule
//!   kind: Deployment           # globs with `*`; at least one of kind, namespace, name
//!   namespace: "vendor-*"
//!   name: "*"
//!   reason: installed from the vendor's chart   # required
//! default-namespace: default
//! mesh: auto                   # auto | all | none
//! istio-cni: auto              # on | off | auto
//! pod-security: restricted:v1.30   # LEVEL[:VERSION]
//! output-threshold: info       # info | warning | error
//! failure-threshold: error     # info | warning | error | never
//! deny-threshold: never        # the webhook: info | warning | error | never
//! disallow-annotation-suppression: false
//! exclude: [vendor/, "**/testdata/**"]   # gitignore-style globs, like --exclude
//! scope: cluster               # cluster | directory | file
//! pod-templates:               # pod templates of kinds meshready does not know
//! - kind: Workflow
//!   apiVersion: argoproj.io/v1alpha1   # optional: group/version, or only the group
//!   path: /spec/templates/*/podSpecPatch   # JSON pointer (`*`: every item) or spec.x[*].y
//! istio-version: "1.27"        # quoted: YAML reads 1.20 as the number 1.2
//! kubernetes-version: "1.30"
//! native-sidecars: auto        # on | off | auto
//! platform: auto               # kubernetes | openshift | auto
//! interception-mode: redirect  # redirect | tproxy
//! ```
//!
//! The file is read with meshready's own YAML loader, so every error names file:line:column.
//! Command-line flags override the file; `crate::options` finds the file and merges.

use anyhow::{Result, anyhow};
use meshready_core::psa::Policy;
use meshready_core::rules::find;
use meshready_core::settings::RuleSetting;
use meshready_core::source::yaml::{Limits, Quirk, parse_document};
use meshready_core::source::{Node, Pos, Value};
use meshready_core::suppress::Ignore;
use meshready_core::{Location, Severity};
use std::collections::HashMap;

use crate::args::{IstioCni, Mesh, Threshold};

/// The config file's name.
pub const FILE_NAME: &str = ".meshready.yaml";

/// A parsed config file. Every field is optional; the command line overrides it.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Per-rule settings by rule code (`rules:`).
    pub rule_settings: HashMap<&'static str, RuleSetting>,
    /// Per-object ignores.
    pub ignores: Vec<Ignore>,
    /// `default-namespace:`.
    pub default_namespace: Option<String>,
    /// `mesh:`.
    pub mesh: Option<Mesh>,
    /// `istio-cni:`.
    pub istio_cni: Option<IstioCni>,
    /// `pod-security:` (`LEVEL[:VERSION]`).
    pub pod_security: Option<Policy>,
    /// `output-threshold:`.
    pub output_threshold: Option<Threshold>,
    /// `failure-threshold:`.
    pub failure_threshold: Option<Threshold>,
    /// `deny-threshold:` (the webhook).
    pub deny_threshold: Option<Threshold>,
    /// `disallow-annotation-suppression:`.
    pub disallow_annotation_suppression: Option<bool>,
    /// `exclude:` globs.
    pub exclude: Vec<String>,
    /// `scope:`.
    pub scope: Option<meshready_core::Scope>,
    /// `pod-templates:`.
    pub pod_templates: Vec<meshready_core::source::kinds::ExtraTemplate>,
    /// `istio-version:` (the minor of 1.N).
    pub istio_version: Option<u32>,
    /// `kubernetes-version:` (the minor of 1.N).
    pub kubernetes_version: Option<u32>,
    /// `native-sidecars:`.
    pub native_sidecars: Option<crate::istio_args::NativeSidecarsArg>,
    /// `platform:`.
    pub platform: Option<crate::istio_args::PlatformArg>,
    /// `interception-mode:`.
    pub interception_mode: Option<crate::istio_args::InterceptionArg>,
}

/// The message for a code or name that names no rule: the same for the config file and for
/// `--suppress`.
#[must_use]
pub fn unknown_rule_message(text: &str) -> String {
    format!("unknown rule `{text}`; `meshready rules` lists the codes and names")
}

/// Parses a config file's text; `path` is used in messages and locations.
///
/// # Errors
/// Invalid YAML, unknown keys, unknown rule codes and bad values, with file:line:column.
pub fn parse(path: &str, text: &str) -> Result<Config> {
    let err = |pos: Pos, message: String| anyhow!("{path}:{}:{}: {message}", pos.line, pos.col);
    let parsed = parse_document(text, 1, Limits::default())
        .map_err(|e| err(e.pos, format!("invalid YAML: {}", e.message)))?;
    if let Some(Quirk::DuplicateKey { key, pos, .. }) = parsed.quirks.first() {
        return Err(err(*pos, format!("key `{key}` appears twice")));
    }
    let mut config = Config::default();
    let Some(root) = parsed.root else {
        return Ok(config);
    };
    if root.is_null() {
        return Ok(config);
    }
    if !root.is_map() {
        return Err(err(
            root.pos,
            format!(
                "expected a mapping of settings, found a {}",
                root.type_name()
            ),
        ));
    }
    for entry in root.entries() {
        let value = &entry.value;
        match &*entry.key {
            "rules" => rules(value, &mut config, &err)?,
            "ignore" => ignores(path, value, &mut config, &err)?,
            "default-namespace" => {
                config.default_namespace = Some(
                    text_of(value)
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| err(value.pos, "expected a namespace name".into()))?,
                );
            }
            "mesh" => {
                config.mesh = Some(match choice(value, &["auto", "all", "none"], &err)? {
                    "auto" => Mesh::Auto,
                    "all" => Mesh::All,
                    _ => Mesh::None,
                });
            }
            "istio-cni" => {
                config.istio_cni = Some(match value.as_bool() {
                    Some(true) => IstioCni::On,
                    Some(false) => IstioCni::Off,
                    None => match choice(value, &["on", "off", "auto"], &err)? {
                        "on" => IstioCni::On,
                        "off" => IstioCni::Off,
                        _ => IstioCni::Auto,
                    },
                });
            }
            "pod-security" => {
                let text = text_of(value).unwrap_or_default();
                config.pod_security = Some(Policy::parse(&text).map_err(|m| err(value.pos, m))?);
            }
            "output-threshold" => {
                config.output_threshold = Some(threshold(choice(
                    value,
                    &["info", "warning", "error"],
                    &err,
                )?));
            }
            "failure-threshold" => {
                config.failure_threshold = Some(threshold(choice(
                    value,
                    &["info", "warning", "error", "never"],
                    &err,
                )?));
            }
            "deny-threshold" => {
                config.deny_threshold = Some(threshold(choice(
                    value,
                    &["info", "warning", "error", "never"],
                    &err,
                )?));
            }
            "disallow-annotation-suppression" => {
                config.disallow_annotation_suppression = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| err(value.pos, "expected `true` or `false`".into()))?,
                );
            }
            "exclude" => config.exclude = exclude(value, &err)?,
            "scope" => {
                config.scope = Some(
                    match choice(value, &["cluster", "directory", "file"], &err)? {
                        "cluster" => meshready_core::Scope::Cluster,
                        "directory" => meshready_core::Scope::Directory,
                        _ => meshready_core::Scope::File,
                    },
                );
            }
            "pod-templates" => config.pod_templates = pod_templates(value, &err)?,
            "istio-version" => {
                config.istio_version = Some(version(
                    value,
                    &err,
                    crate::istio_args::parse_istio_version,
                )?);
            }
            "kubernetes-version" => {
                config.kubernetes_version = Some(version(
                    value,
                    &err,
                    crate::istio_args::parse_kubernetes_version,
                )?);
            }
            "native-sidecars" => {
                use crate::istio_args::NativeSidecarsArg as N;
                config.native_sidecars = Some(match value.as_bool() {
                    Some(true) => N::On,
                    Some(false) => N::Off,
                    None => match choice(value, &["on", "off", "auto"], &err)? {
                        "on" => N::On,
                        "off" => N::Off,
                        _ => N::Auto,
                    },
                });
            }
            "platform" => {
                use crate::istio_args::PlatformArg as P;
                config.platform = Some(
                    match choice(value, &["kubernetes", "openshift", "auto"], &err)? {
                        "kubernetes" => P::Kubernetes,
                        "openshift" => P::Openshift,
                        _ => P::Auto,
                    },
                );
            }
            "interception-mode" => {
                use crate::istio_args::InterceptionArg as I;
                config.interception_mode =
                    Some(match choice(value, &["redirect", "tproxy"], &err)? {
                        "tproxy" => I::Tproxy,
                        _ => I::Redirect,
                    });
            }
            other => {
                return Err(err(
                    entry.key_pos,
                    format!(
                        "unknown key `{other}`; expected one of: rules, ignore, default-namespace, \
                         mesh, istio-cni, pod-security, output-threshold, failure-threshold, \
                         deny-threshold, disallow-annotation-suppression, exclude, scope, \
                         pod-templates, istio-version, kubernetes-version, native-sidecars, \
                         platform, interception-mode"
                    ),
                ));
            }
        }
    }
    Ok(config)
}

type ErrFn<'a> = dyn Fn(Pos, String) -> anyhow::Error + 'a;

/// A `1.N` version setting; YAML numbers are refused (`1.20` would read as 1.2).
fn version(node: &Node, err: &ErrFn<'_>, parse: fn(&str) -> Result<u32, String>) -> Result<u32> {
    match &node.value {
        Value::Str(s) => parse(s).map_err(|m| err(node.pos, m)),
        Value::Float(_) | Value::Int(_) => Err(err(
            node.pos,
            "quote the version (\"1.27\"): YAML reads an unquoted 1.20 as the number 1.2".into(),
        )),
        _ => Err(err(node.pos, "expected a version \"1.N\"".into())),
    }
}

/// A scalar's text as written (`off` and `on` stay words, not YAML 1.1 booleans).
fn text_of(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) | Value::Yaml11Bool(s, _) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn choice<'c>(node: &Node, choices: &[&'c str], err: &ErrFn<'_>) -> Result<&'c str> {
    let text = text_of(node).map(|t| t.to_ascii_lowercase());
    text.as_deref()
        .and_then(|t| choices.iter().find(|c| **c == t).copied())
        .ok_or_else(|| {
            err(
                node.pos,
                format!(
                    "expected one of {}, found {}",
                    choices.join(", "),
                    text.map_or_else(|| format!("a {}", node.type_name()), |t| format!("`{t}`"))
                ),
            )
        })
}

fn threshold(text: &str) -> Threshold {
    match text {
        "info" => Threshold::Info,
        "warning" => Threshold::Warning,
        "error" => Threshold::Error,
        _ => Threshold::Never,
    }
}

fn severity_or_off(node: &Node, err: &ErrFn<'_>) -> Result<RuleSetting> {
    let text = choice(node, &["info", "warning", "error", "off"], err)?;
    Ok(Severity::parse(text).map_or(RuleSetting::Off, RuleSetting::Severity))
}

fn rules(node: &Node, config: &mut Config, err: &ErrFn<'_>) -> Result<()> {
    if !node.is_map() {
        return Err(err(
            node.pos,
            format!(
                "`rules` must map rule codes or names to settings, found a {}",
                node.type_name()
            ),
        ));
    }
    for entry in node.entries() {
        let meta =
            find(&entry.key).ok_or_else(|| err(entry.key_pos, unknown_rule_message(&entry.key)))?;
        let severity = if entry.value.is_map() {
            let mut severity = None;
            for setting in entry.value.entries() {
                match &*setting.key {
                    "severity" => severity = Some(severity_or_off(&setting.value, err)?),
                    other => {
                        return Err(err(
                            setting.key_pos,
                            format!("unknown rule setting `{other}`; expected `severity`"),
                        ));
                    }
                }
            }
            severity.ok_or_else(|| err(entry.value.pos, "expected `severity`".into()))?
        } else {
            // Shorthand: `IST0118: off`.
            severity_or_off(&entry.value, err)?
        };
        if config.rule_settings.insert(meta.code, severity).is_some() {
            return Err(err(
                entry.key_pos,
                format!("rule {} is configured twice", meta.code),
            ));
        }
    }
    Ok(())
}

fn ignores(path: &str, node: &Node, config: &mut Config, err: &ErrFn<'_>) -> Result<()> {
    if !matches!(node.value, Value::Seq(_)) {
        return Err(err(
            node.pos,
            format!(
                "`ignore` must be a list of entries, found a {}",
                node.type_name()
            ),
        ));
    }
    for (i, item) in node.items().iter().enumerate() {
        if !item.is_map() {
            return Err(err(
                item.pos,
                format!(
                    "an ignore entry must be a mapping, found a {}",
                    item.type_name()
                ),
            ));
        }
        let mut ignore = Ignore {
            codes: Vec::new(),
            kind: None,
            namespace: None,
            name: None,
            reason: String::new(),
            label: format!("ignore[{i}] of {path}"),
            location: Some(Location {
                file: path.to_string(),
                line: item.pos.line,
                column: item.pos.col,
                chart_file: None,
            }),
        };
        let glob = |value: &Node| {
            text_of(value)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(value.pos, "expected a non-empty glob".into()))
        };
        for entry in item.entries() {
            let value = &entry.value;
            match &*entry.key {
                "codes" => {
                    let items: Vec<&Node> = match &value.value {
                        Value::Seq(items) => items.iter().collect(),
                        _ => vec![value],
                    };
                    for code in items {
                        let text = text_of(code).unwrap_or_default();
                        let meta = find(&text)
                            .ok_or_else(|| err(code.pos, unknown_rule_message(&text)))?;
                        ignore.codes.push(meta.code.to_string());
                    }
                }
                "kind" => ignore.kind = Some(glob(value)?),
                "namespace" => ignore.namespace = Some(glob(value)?),
                "name" => ignore.name = Some(glob(value)?),
                "reason" => ignore.reason = text_of(value).unwrap_or_default().trim().to_string(),
                other => {
                    return Err(err(
                        entry.key_pos,
                        format!(
                            "unknown ignore key `{other}`; expected codes, kind, namespace, name, reason"
                        ),
                    ));
                }
            }
        }
        if ignore.reason.is_empty() {
            return Err(err(
                item.pos,
                "this ignore entry needs a non-empty `reason` (say why the objects are exempt)"
                    .into(),
            ));
        }
        if ignore.kind.is_none() && ignore.namespace.is_none() && ignore.name.is_none() {
            return Err(err(
                item.pos,
                "this ignore entry needs at least one of `kind`, `namespace`, `name` (to turn a \
                 rule off everywhere, use `rules: {CODE: {severity: off}}`)"
                    .into(),
            ));
        }
        config.ignores.push(ignore);
    }
    Ok(())
}

/// `exclude:`: one glob or a list of globs.
fn exclude(node: &Node, err: &ErrFn<'_>) -> Result<Vec<String>> {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .map(|item| {
            text_of(item)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| err(item.pos, "expected a glob (a non-empty string)".into()))
        })
        .collect()
}

/// `pod-templates:`: a list of `{kind, apiVersion?, path}`.
fn pod_templates(
    node: &Node,
    err: &ErrFn<'_>,
) -> Result<Vec<meshready_core::source::kinds::ExtraTemplate>> {
    if !matches!(node.value, Value::Seq(_)) {
        return Err(err(
            node.pos,
            format!(
                "`pod-templates` must be a list of {{kind, apiVersion, path}}, found a {}",
                node.type_name()
            ),
        ));
    }
    let mut out = Vec::new();
    for item in node.items() {
        if !item.is_map() {
            return Err(err(
                item.pos,
                format!(
                    "a pod-templates entry must be a mapping, found a {}",
                    item.type_name()
                ),
            ));
        }
        let (mut kind, mut api_version, mut path) = (None, None, None);
        for entry in item.entries() {
            let value = &entry.value;
            let text = || {
                text_of(value)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| err(value.pos, "expected a non-empty string".into()))
            };
            match &*entry.key {
                "kind" => kind = Some(text()?),
                "apiVersion" => api_version = Some(text()?),
                "path" => {
                    path = Some(template_pointer(&text()?).map_err(|m| err(value.pos, m))?);
                }
                other => {
                    return Err(err(
                        entry.key_pos,
                        format!(
                            "unknown pod-templates key `{other}`; expected kind, apiVersion, path"
                        ),
                    ));
                }
            }
        }
        let (Some(kind), Some(path)) = (kind, path) else {
            return Err(err(
                item.pos,
                "this pod-templates entry needs `kind` and `path`".into(),
            ));
        };
        out.push(meshready_core::source::kinds::ExtraTemplate {
            kind,
            api_version,
            path,
        });
    }
    Ok(out)
}

/// A template path as a JSON pointer: `/spec/jobs/*/template` as is, or the dotted form
/// `spec.jobs[*].template` (an optional leading `$.` or `.`).
fn template_pointer(text: &str) -> std::result::Result<String, String> {
    if text.starts_with('/') {
        return Ok(text.to_string());
    }
    let body = text.trim_start_matches('$').trim_start_matches('.');
    let mut pointer = String::new();
    for part in body.split('.') {
        let (name, indices) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        if name.is_empty() && indices.is_empty() {
            return Err(format!(
                "`{text}` is not a path: expected a JSON pointer (/spec/template) or spec.template"
            ));
        }
        if !name.is_empty() {
            pointer.push('/');
            pointer.push_str(name);
        }
        if !indices.is_empty() {
            for index in format!("[{indices}").split('[').skip(1) {
                let index = index
                    .strip_suffix(']')
                    .ok_or_else(|| format!("`{text}`: an index must be `[N]` or `[*]`"))?;
                if index != "*" && index.parse::<usize>().is_err() {
                    return Err(format!("`{text}`: an index must be `[N]` or `[*]`"));
                }
                pointer.push('/');
                pointer.push_str(index);
            }
        }
    }
    Ok(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = parse(
            ".meshready.yaml",
            "rules:\n  IST0118: {severity: off}\n  missing-version-label: warning\nignore:\n- kind: Deployment\n  name: vendor-*\n  reason: vendor chart\ndefault-namespace: apps\nmesh: all\nistio-cni: on\npod-security: restricted:v1.30\noutput-threshold: warning\nfailure-threshold: never\ndisallow-annotation-suppression: yes\n",
        )
        .unwrap();
        assert_eq!(c.rule_settings.get("IST0118"), Some(&RuleSetting::Off));
        assert_eq!(
            c.rule_settings.get("MR0004"),
            Some(&RuleSetting::Severity(Severity::Warning))
        );
        assert_eq!(c.ignores.len(), 1);
        assert_eq!(c.ignores[0].location.as_ref().map(|l| l.line), Some(5));
        assert_eq!(c.default_namespace.as_deref(), Some("apps"));
        assert_eq!(c.mesh, Some(Mesh::All));
        assert_eq!(c.istio_cni, Some(IstioCni::On));
        assert_eq!(
            c.pod_security.map(|p| p.to_string()).as_deref(),
            Some("restricted:v1.30")
        );
        assert_eq!(c.output_threshold, Some(Threshold::Warning));
        assert_eq!(c.failure_threshold, Some(Threshold::Never));
        assert_eq!(c.disallow_annotation_suppression, Some(true));
    }

    #[test]
    fn errors_name_the_place() {
        let e = |text: &str| parse("c.yaml", text).unwrap_err().to_string();
        assert_eq!(
            e("mesh: all\nfoo: 1\n"),
            "c.yaml:2:1: unknown key `foo`; expected one of: rules, ignore, default-namespace, mesh, istio-cni, pod-security, output-threshold, failure-threshold, deny-threshold, disallow-annotation-suppression, exclude, scope, pod-templates, istio-version, kubernetes-version, native-sidecars, platform, interception-mode"
        );
        assert_eq!(
            e("istio-version: 1.20\n"),
            "c.yaml:1:16: quote the version (\"1.27\"): YAML reads an unquoted 1.20 as the number 1.2"
        );
        assert_eq!(
            e("istio-version: \"1.19\"\n"),
            "c.yaml:1:16: Istio version 1.19 is not supported (expected 1.20 to 1.31)"
        );
        let c = parse(
            "c.yaml",
            "istio-version: \"1.27\"\nkubernetes-version: \"1.24\"\nnative-sidecars: off\nplatform: openshift\ninterception-mode: tproxy\n",
        )
        .unwrap();
        assert_eq!(c.istio_version, Some(27));
        assert_eq!(c.kubernetes_version, Some(24));
        assert_eq!(
            c.native_sidecars,
            Some(crate::istio_args::NativeSidecarsArg::Off)
        );
        assert_eq!(c.platform, Some(crate::istio_args::PlatformArg::Openshift));
        assert_eq!(
            c.interception_mode,
            Some(crate::istio_args::InterceptionArg::Tproxy)
        );
        assert!(e("rules:\n  IST9999: off\n").starts_with("c.yaml:2:3: unknown rule `IST9999`"));
        assert!(
            e("ignore:\n- kind: Pod\n")
                .starts_with("c.yaml:2:3: this ignore entry needs a non-empty `reason`")
        );
        assert!(e("pod-security: strict\n").starts_with("c.yaml:1:15:"));
        assert!(e("mesh: all\nmesh: none\n").starts_with("c.yaml:2:1: key `mesh` appears twice"));
        assert!(e("scope: cluster-wide\n").starts_with("c.yaml:1:8: expected one of cluster"));
        assert!(
            e("pod-templates:\n- kind: X\n").starts_with("c.yaml:2:3: this pod-templates entry")
        );
        assert!(e("pod-templates:\n- {kind: X, path: 'spec.a[x]'}\n").starts_with("c.yaml:2:"));
        assert!(e("exclude: [1, '']\n").starts_with("c.yaml:1:"));
    }

    #[test]
    fn input_keys() {
        let c = parse(
            "c.yaml",
            "exclude: vendor/\nscope: directory\npod-templates:\n- kind: Thing\n  apiVersion: example.com\n  path: spec.groups[*].template\n- {kind: Other, path: /spec/pod}\n",
        )
        .unwrap();
        assert_eq!(c.exclude, ["vendor/"]);
        assert_eq!(c.scope, Some(meshready_core::Scope::Directory));
        let paths: Vec<(&str, Option<&str>, &str)> = c
            .pod_templates
            .iter()
            .map(|t| (t.kind.as_str(), t.api_version.as_deref(), t.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("Thing", Some("example.com"), "/spec/groups/*/template"),
                ("Other", None, "/spec/pod")
            ]
        );
        assert_eq!(
            template_pointer("$.spec.a[0][*].b"),
            Ok("/spec/a/0/*/b".into())
        );
    }
}
