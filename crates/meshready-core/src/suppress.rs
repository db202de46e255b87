//! Suppression: annotations on objects and pod templates, and istioctl-style `--suppress` patterns.

use rayon::prelude::*;

use crate::finding::Finding;
use crate::source::{Node, Object};

/// meshready's own annotation: `meshready.io/ignore: "CODE[,CODE...][=reason]"`.
///
/// The grammar, read left to right:
///
/// ```text
/// value  = codes [ "=" reason ]
/// codes  = code *( "," code )     ; a rule code (IST0117), a rule name or `*`; blanks around
///                                 ; commas are ignored
/// reason = text to the end        ; free text, but a comma followed by a rule code or name is
///                                 ; an error (MR0031): codes never follow the reason
/// ```
///
/// So `"IST0117,MR0004=batch job"` suppresses both rules with one reason, and
/// `"IST0117=batch, MR0004"` is reported instead of silently reading `MR0004` as reason text.
pub const IGNORE_ANNOTATION: &str = "meshready.io/ignore";
/// istioctl's annotation: `galley.istio.io/analyze-suppress: "CODE[,CODE...]"` or `"*"`.
pub const ISTIO_ANNOTATION: &str = "galley.istio.io/analyze-suppress";

/// A `--suppress "CODE=Kind name.namespace"` pattern (globs with `*`), as istioctl's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Code or name glob.
    pub code: String,
    /// Kind glob.
    pub kind: String,
    /// `name.namespace` glob (or `name` for cluster-scoped objects).
    pub resource: String,
}

/// Why a `--suppress` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid suppression {0:?}: expected \"CODE=Kind name.namespace\" (globs with `*` allowed)"
)]
pub struct PatternError(pub String);

impl Pattern {
    /// Parses `CODE=Kind name.namespace`.
    ///
    /// # Errors
    /// When the text does not have that shape.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let err = || PatternError(text.to_string());
        let (code, rest) = text.split_once('=').ok_or_else(err)?;
        let (kind, resource) = rest.trim().split_once(' ').ok_or_else(err)?;
        if code.trim().is_empty() || kind.is_empty() || resource.trim().is_empty() {
            return Err(err());
        }
        Ok(Self {
            code: code.trim().to_string(),
            kind: kind.to_string(),
            resource: resource.trim().to_string(),
        })
    }

    /// Whether the pattern matches a finding.
    #[must_use]
    pub fn matches(&self, f: &Finding) -> bool {
        let resource = if f.object.namespace.is_empty() {
            f.object.name.clone()
        } else {
            format!("{}.{}", f.object.name, f.object.namespace)
        };
        (glob(&self.code, f.code) || glob(&self.code, f.name))
            && glob(&self.kind, &f.object.kind)
            && glob(&self.resource, &resource)
    }
}

/// `*` matches any run of characters; everything else matches itself, case-insensitively for
/// codes and kinds as istioctl does.
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let mut rest = t.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether an annotation value lists the finding's code or name (or `*`).
fn annotation_covers(value: &str, f: &Finding) -> bool {
    let codes = value
        .split_once('=')
        .map_or(value, |(codes, _reason)| codes);
    codes
        .split(',')
        .map(str::trim)
        .any(|c| c == "*" || c.eq_ignore_ascii_case(f.code) || c.eq_ignore_ascii_case(f.name))
}

/// Whether the object's (or its pod template's) annotations suppress the finding.
#[must_use]
pub fn suppressed_by_annotation(object: &Object, f: &Finding) -> bool {
    let mut metas: Vec<&Node> = object.root.get("metadata").into_iter().collect();
    for tpl in object.templates.as_deref().unwrap_or_default() {
        if !tpl.is_empty() {
            metas.extend(object.root.pointer(&format!("{tpl}/metadata")));
        }
    }
    metas.iter().any(|meta| {
        [IGNORE_ANNOTATION, ISTIO_ANNOTATION]
            .iter()
            .filter_map(|a| meta.at(&["annotations", a]).and_then(Node::scalar_text))
            .any(|v| annotation_covers(&v, f))
    })
}

/// A per-object ignore from the config file (`ignore:` in `.meshready.yaml`): findings whose
/// code and object match are dropped, like `--suppress`, but with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// Codes or names the ignore covers; empty: every rule.
    pub codes: Vec<String>,
    /// Kind glob (`None`: any kind).
    pub kind: Option<String>,
    /// Namespace glob (`None`: any namespace).
    pub namespace: Option<String>,
    /// Name glob (`None`: any name).
    pub name: Option<String>,
    /// Why the objects are ignored (required, non-empty).
    pub reason: String,
    /// How to name the ignore in messages (`.meshready.yaml ignore[0]`).
    pub label: String,
    /// Where the ignore is written, for the unused-suppression note.
    pub location: Option<crate::finding::Location>,
}

impl Ignore {
    /// Whether the ignore matches a finding.
    #[must_use]
    pub fn matches(&self, f: &Finding) -> bool {
        let field = |glob_text: &Option<String>, text: &str| {
            glob_text.as_deref().is_none_or(|g| glob(g, text))
        };
        (self.codes.is_empty()
            || self
                .codes
                .iter()
                .any(|c| c.eq_ignore_ascii_case(f.code) || c.eq_ignore_ascii_case(f.name)))
            && field(&self.kind, &f.object.kind)
            && field(&self.namespace, &f.object.namespace)
            && field(&self.name, &f.object.name)
    }
}

impl Pattern {
    /// The pattern as written (`CODE=Kind name.namespace`).
    #[must_use]
    pub fn text(&self) -> String {
        format!("{}={} {}", self.code, self.kind, self.resource)
    }
}

/// One suppression annotation on an object or its pod template, split into its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationSuppression {
    /// The annotation key ([`IGNORE_ANNOTATION`] or [`ISTIO_ANNOTATION`]).
    pub annotation: &'static str,
    /// JSON pointer of the annotation in the object.
    pub pointer: String,
    /// The listed codes, names or `*`, trimmed, without the reason.
    pub codes: Vec<String>,
    /// The first word of every comma-separated part of the reason (`MR0004` in
    /// `"IST0117=batch, MR0004"`): rule MR0031 reports those that name a rule, a mistake the
    /// grammar refuses.
    pub after_reason: Vec<String>,
}

/// Whether one annotation token (a code, a name or `*`) covers a finding.
#[must_use]
pub fn token_covers(token: &str, f: &Finding) -> bool {
    token == "*" || token.eq_ignore_ascii_case(f.code) || token.eq_ignore_ascii_case(f.name)
}

/// The suppression annotations of every object that has any, by object index: worked out once
/// per check ([`crate::check`]) for rule MR0031 and for the suppression pass.
#[derive(Debug, Default)]
pub struct AnnotationIndex(Vec<(usize, Vec<AnnotationSuppression>)>);

impl AnnotationIndex {
    /// Reads the annotations of `objects` (in parallel: most objects have none, and reading
    /// that is most of the work).
    #[must_use]
    pub fn new(objects: &[Object]) -> Self {
        Self(
            objects
                .par_iter()
                .enumerate()
                .map(|(i, o)| (i, annotation_suppressions(o)))
                .filter(|(_, a)| !a.is_empty())
                .collect(),
        )
    }

    /// The suppression annotations of object `i` (none: empty).
    #[must_use]
    pub fn of(&self, i: usize) -> &[AnnotationSuppression] {
        self.0
            .binary_search_by_key(&i, |(k, _)| *k)
            .map_or(&[], |k| &self.0[k].1)
    }

    /// Each object that has suppression annotations (its index) and them, in input order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[AnnotationSuppression])> {
        self.0.iter().map(|(i, a)| (*i, a.as_slice()))
    }
}

/// Every suppression annotation of an object and of its pod template.
#[must_use]
pub fn annotation_suppressions(object: &Object) -> Vec<AnnotationSuppression> {
    // (template pointer, its metadata): the object's own first (`""`), then each template's.
    // Pointers are only built for annotations found (most objects have none).
    let metas = object
        .root
        .get("metadata")
        .map(|m| ("", m))
        .into_iter()
        .chain(
            object
                .templates
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|tpl| !tpl.is_empty())
                .filter_map(|tpl| {
                    let meta = object.root.pointer(tpl)?.get("metadata")?;
                    Some((tpl.as_str(), meta))
                }),
        );
    let mut out = Vec::new();
    for (tpl, meta) in metas {
        let Some(annotations) = meta.get("annotations") else {
            continue;
        };
        for annotation in [IGNORE_ANNOTATION, ISTIO_ANNOTATION] {
            let Some(value) = annotations.get(annotation).and_then(Node::scalar_text) else {
                continue;
            };
            let (codes, reason) = value
                .split_once('=')
                .map_or((value.as_str(), ""), |(codes, reason)| (codes, reason));
            let codes = codes
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let after_reason = reason
                .split(',')
                .skip(1)
                .filter_map(|part| part.split(['=', ' ']).find(|w| !w.is_empty()))
                .map(str::to_string)
                .collect();
            out.push(AnnotationSuppression {
                annotation,
                pointer: format!(
                    "{tpl}/metadata/annotations/{}",
                    crate::source::node::escape(annotation)
                ),
                codes,
                after_reason,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("IST01*", "ist0117"));
        assert!(glob("*.testing", "web.testing"));
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(!glob("web", "web2"));
    }

    #[test]
    fn annotation_grammar() {
        let object = |value: &str| {
            crate::source::load_str(
                "t.yaml",
                &format!(
                    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    meshready.io/ignore: {value:?}\n"
                ),
                &crate::source::LoadOptions::default(),
            )
            .objects
            .remove(0)
        };
        let parsed = |value: &str| {
            let a = annotation_suppressions(&object(value)).remove(0);
            (a.codes, a.after_reason)
        };
        let strings = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            parsed("IST0117, MR0004 =batch job"),
            (strings(&["IST0117", "MR0004"]), vec![])
        );
        assert_eq!(
            parsed("IST0117=batch, MR0004"),
            (strings(&["IST0117"]), strings(&["MR0004"]))
        );
        assert_eq!(
            parsed("IST0117=batch, see MR-12, missing-version-label=x"),
            (
                strings(&["IST0117"]),
                strings(&["see", "missing-version-label"])
            )
        );
        assert_eq!(parsed("*"), (strings(&["*"]), vec![]));
    }

    #[test]
    fn patterns_parse_like_istioctl() {
        let p = Pattern::parse("IST0103=Pod *.testing").unwrap();
        assert_eq!(
            (p.code.as_str(), p.kind.as_str(), p.resource.as_str()),
            ("IST0103", "Pod", "*.testing")
        );
        assert!(Pattern::parse("IST0103").is_err());
        assert!(Pattern::parse("IST0103=Pod").is_err());
    }
}
