//! The loader: turns files and streams into Kubernetes objects that remember where every field
//! came from, and accounts for every document (analysed, or reported with a reason).

pub mod classify;
mod digest;
pub mod kinds;
pub mod node;
pub mod split;
pub mod yaml;

use rayon::prelude::*;
use serde::Serialize;

pub use node::{Entry, Node, Pos, Value};
use split::Chunk;
use yaml::{Limits, Quirk};

/// An input: a path as the user gave it and its contents.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as given on the command line (`-` for stdin), used in every location.
    pub path: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

/// A file that was read, kept for rendering source lines.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (`-` for stdin).
    pub path: String,
    /// The text, without a leading byte-order mark.
    pub text: String,
}

impl SourceFile {
    /// The text of a 1-based line, without its line ending.
    #[must_use]
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        // YAML breaks lines at `\r\n`, `\n` and a lone `\r`, as the parser counts them.
        lines(&self.text).nth(index)
    }
}

/// Finds the lines of one text without reading it from its start for each line (a file of
/// 100k objects has millions of lines, and findings ask for lines all over it): the start of
/// every 64th line is kept. Lines are those of [`SourceFile::line`].
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offsets where lines 1, 1 + `STEP`, 1 + 2 × `STEP`, ... start.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// How many lines apart the kept starts are.
    const STEP: usize = 64;

    /// Indexes a text (one pass over it).
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        let mut starts = Vec::new();
        let mut n = 0usize;
        let mut segment_start = 0usize;
        for segment in text.split('\n') {
            let mut start = segment_start;
            for line in segment.strip_suffix('\r').unwrap_or(segment).split('\r') {
                if n.is_multiple_of(Self::STEP) {
                    starts.push(start);
                }
                n += 1;
                start += line.len() + 1;
            }
            segment_start += segment.len() + 1;
        }
        Self { text, starts }
    }

    /// The text of a 1-based line, without its line ending ([`SourceFile::line`]).
    #[must_use]
    pub fn line(&self, line: u32) -> Option<&'a str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.starts.get(index / Self::STEP)?;
        lines(&self.text[start..]).nth(index % Self::STEP)
    }
}

/// The lines of a text as YAML breaks them: at `\r\n`, `\n` and a lone `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
}

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Index into [`Loaded::files`].
    pub file: usize,
    /// 0-based index of the document in its file.
    pub document: usize,
    /// 0-based index of the item when the object came from a `List`.
    pub item: Option<usize>,
    /// The Helm chart file named by the document's `# Source:` comment.
    pub helm_source: Option<String>,
}

/// A Kubernetes object read from the input.
#[derive(Debug, Clone)]
pub struct Object {
    /// `kind`.
    pub kind: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `metadata.name` (or `generateName`, or `<unnamed>`).
    pub name: String,
    /// Effective namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Where it came from.
    pub origin: Origin,
    /// The whole object.
    pub root: Node,
    /// What the parser noticed in this object (duplicate keys).
    pub quirks: Vec<Quirk>,
    /// The JSON pointers of the object's pod templates that exist (`""`: the object is a Pod),
    /// or `None` when its kind makes no pods ([`crate::source::kinds`]).
    pub templates: Option<Vec<String>>,
    /// A hash of the object's content as read (positions, `status` and server-set metadata
    /// left out), to tell identical definitions of one object from conflicting ones.
    pub digest: u64,
    /// The names of the objects this one also stands for: objects identical to it but for
    /// their names, kept once (the pods of one workload read from a cluster). Empty for objects
    /// read from files. Counts and findings treat each name as an object of its own.
    pub copies: Vec<String>,
}

impl Object {
    /// Whether it was decoded by an API server (a list or an admission review: no file): its
    /// fields have the types the API defines, which the API server checked when it stored it.
    #[must_use]
    pub fn decoded_by_api_server(&self) -> bool {
        self.origin.file == API_SERVER
    }

    /// How many objects this one stands for: itself and its [`Object::copies`].
    #[must_use]
    pub fn count(&self) -> usize {
        1 + self.copies.len()
    }

    /// `metadata.labels` as (key, value) pairs of strings (values that are not strings, which
    /// the loader reports separately, are rendered as Kubernetes' JSON conversion would).
    pub fn labels(&self) -> impl Iterator<Item = (&str, std::borrow::Cow<'_, str>)> {
        string_map(self.root.at(&["metadata", "labels"]))
    }

    /// One label's value.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        let node = self.root.at(&["metadata", "labels", key])?;
        match node.as_str() {
            Some(s) => Some(std::borrow::Cow::Borrowed(s)),
            None => node.scalar_text().map(std::borrow::Cow::Owned),
        }
    }

    /// One annotation's value.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<String> {
        self.root
            .at(&["metadata", "annotations", key])
            .and_then(Node::scalar_text)
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    #[must_use]
    pub fn display_name(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A map node's entries as (key, scalar text) pairs.
/// Strings are borrowed; other scalars (which the loader reports) are rendered as Kubernetes'
/// JSON conversion would.
pub fn string_map(node: Option<&Node>) -> impl Iterator<Item = (&str, std::borrow::Cow<'_, str>)> {
    node.map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let value = match e.value.as_str() {
                Some(s) => std::borrow::Cow::Borrowed(s),
                None => std::borrow::Cow::Owned(e.value.scalar_text()?),
            };
            Some((&*e.key, value))
        })
}

/// A document or file that could not be analysed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    /// The path as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong (a lowercase fragment).
    pub message: String,
}

/// Counts that reconcile: `documents` = (`objects` − `list_items`) + `lists` +
/// `invalid_documents`; every input file is either read (`files`) or skipped (`skipped_files`
/// = the sum of `skipped_files_by_reason`). The documents of skipped files are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Files read.
    pub files: usize,
    /// Non-empty documents found.
    pub documents: usize,
    /// Documents that were `List` wrappers (their items are counted as objects).
    pub lists: usize,
    /// Objects that came from `List` items.
    pub list_items: usize,
    /// Kubernetes objects (List items counted one by one).
    pub objects: usize,
    /// Documents that could not be read as an object or a List (see `errors`).
    pub invalid_documents: usize,
    /// List items that could not be read as objects (see `errors`).
    pub invalid_items: usize,
    /// Files that were not analysed because they are not Kubernetes manifests (not counted in
    /// `files`).
    pub skipped_files: usize,
    /// Skipped files by reason ([`classify::SkipReason`]).
    pub skipped_files_by_reason: std::collections::BTreeMap<String, usize>,
}

impl Stats {
    /// Counts a file that was skipped for `reason`.
    pub fn skip_file(&mut self, reason: classify::SkipReason) {
        self.skipped_files += 1;
        *self
            .skipped_files_by_reason
            .entry(reason.as_str().to_string())
            .or_default() += 1;
    }
}

/// Options for loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Namespace for namespaced objects that do not name one.
    pub default_namespace: String,
    /// Parser limits.
    pub limits: Limits,
    /// Maximum total size of all inputs in bytes; files past it are reported, not read.
    pub max_input_bytes: usize,
    /// Maximum number of documents; documents past it are reported, not analysed.
    pub max_documents: usize,
    /// What may be dropped because no rule reads it; `None` keeps every field. The loader knows
    /// no rule: the caller passes the rules' policy (`meshready_core::rules::PRUNE`).
    pub prune: Option<Prune>,
    /// Pod template paths of kinds the built-in table does not know (`.meshready.yaml`
    /// `pod-templates:`).
    pub pod_templates: Vec<crate::source::kinds::ExtraTemplate>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            default_namespace: "default".into(),
            max_input_bytes: 4 << 30,
            max_documents: 2_000_000,
            limits: Limits::default(),
            prune: None,
            pod_templates: Vec::new(),
        }
    }
}

impl LoadOptions {
    /// These options with a prune policy. The fields are dropped after each document is parsed
    /// and hashed, not skipped while parsing: MR0050 compares whole definitions, so two copies
    /// that differ only in `env` or `resources` must still hash apart (the corpora test caught
    /// the difference).
    #[must_use]
    pub fn with_prune(mut self, prune: Prune) -> Self {
        self.prune = Some(prune);
        self
    }
}

/// What the loader may drop at load time so that the model stays compact (peak memory a small
/// multiple of the input). Positions of everything kept are unchanged; dropping must never
/// change a finding (a test runs every fixture and corpus both ways).
#[derive(Debug, Clone, Copy)]
pub struct Prune {
    /// Whether any rule reads an object (by kind, or because it has pod templates); of other
    /// objects only `apiVersion`, `kind` and `metadata` are kept, for counting and suppression.
    pub known_object: fn(&Object) -> bool,
    /// Whether a ConfigMap's `data` is read (by name).
    pub config_map_data: fn(&str) -> bool,
    /// Pod spec fields no rule reads.
    pub unread_pod_fields: &'static [&'static str],
    /// Container fields no rule reads.
    pub unread_container_fields: &'static [&'static str],
    /// Whether a container's probe or lifecycle handler (`livenessProbe`, `readinessProbe`,
    /// `startupProbe`, `lifecycle`, by its key) is read; it may also drop the handler's unread
    /// parts. Handlers it refuses are dropped.
    pub keep_handler: fn(&str, &mut Node) -> bool,
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The files, for rendering source lines.
    pub files: Vec<SourceFile>,
    /// The objects, in input order.
    pub objects: Vec<Object>,
    /// Documents that could not be analysed.
    pub errors: Vec<LoadError>,
    /// Counts.
    pub stats: Stats,
    /// Notes for the user about inputs that were not checked as they are (a Helm chart to
    /// render, a Kustomize directory that was built or could not be).
    pub notes: Vec<String>,
}

/// Kinds that have no namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PodSecurityPolicy",
    "SecurityContextConstraints",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "CustomResourceDefinition",
    "APIService",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "RuntimeClass",
    "Node",
    "IngressClass",
    "CSIDriver",
    "ClusterIssuer",
];

/// Whether objects of `kind` are cluster-scoped.
#[must_use]
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// Loads inputs: splits every file into documents, parses the documents in parallel, and turns
/// them into objects. Never fails as a whole: what cannot be read is in [`Loaded::errors`].
#[must_use]
pub fn load(inputs: Vec<Input>, options: &LoadOptions) -> Loaded {
    let mut loaded = Loaded::default();
    let mut jobs: Vec<(usize, usize, Chunk)> = Vec::new();
    let mut total_bytes = 0usize;
    for input in inputs {
        if input.path != "-"
            && let Some(reason) = classify::classify_path(&input.path)
        {
            loaded.stats.skip_file(reason);
            continue;
        }
        let file = loaded.files.len();
        total_bytes = total_bytes.saturating_add(input.bytes.len());
        if total_bytes > options.max_input_bytes {
            loaded.errors.push(LoadError {
                file: input.path.clone(),
                line: 1,
                column: 1,
                message: format!(
                    "not read: the inputs exceed the total size limit of {} bytes (raise it with --max-input-size)",
                    options.max_input_bytes
                ),
            });
            loaded.files.push(SourceFile {
                path: input.path,
                text: String::new(),
            });
            loaded.stats.files += 1;
            continue;
        }
        let text = match decode(&input.path, input.bytes) {
            Ok(text) => text,
            Err(error) => {
                loaded.errors.push(error);
                loaded.files.push(SourceFile {
                    path: input.path,
                    text: String::new(),
                });
                loaded.stats.files += 1;
                continue;
            }
        };
        let chunks = if split::looks_like_json(&text) {
            split::split_json(&text)
        } else {
            split::split_yaml(&text)
        };
        jobs.extend(
            chunks
                .into_iter()
                .enumerate()
                .map(|(doc, chunk)| (file, doc, chunk)),
        );
        loaded.files.push(SourceFile {
            path: input.path,
            text,
        });
        loaded.stats.files += 1;
    }
    if jobs.len() > options.max_documents {
        let (file, _, chunk) = &jobs[options.max_documents];
        loaded.errors.push(LoadError {
            file: loaded.files[*file].path.clone(),
            line: chunk.line,
            column: 1,
            message: format!(
                "not analysed: this and {} later documents exceed the limit of {} documents (raise it with --max-documents)",
                jobs.len() - options.max_documents - 1,
                options.max_documents
            ),
        });
        jobs.truncate(options.max_documents);
    }
    let files = &loaded.files;
    let results: Vec<DocResult> = jobs
        .par_iter()
        .with_min_len(8)
        .map(|(file, doc, chunk)| load_document(files, *file, *doc, chunk, options))
        .collect();
    let skipped = content_skips(&loaded.files, &jobs, &results);
    for reason in skipped.iter().flatten() {
        loaded.stats.files -= 1;
        loaded.stats.skip_file(*reason);
    }
    for ((file, _, _), result) in jobs.iter().zip(results) {
        if skipped[*file].is_some() {
            continue;
        }
        loaded.stats.documents += 1;
        match result {
            DocResult::Empty => loaded.stats.documents -= 1,
            DocResult::Objects {
                objects,
                list,
                errors,
            } => {
                if list {
                    loaded.stats.lists += 1;
                    loaded.stats.list_items += objects.len();
                }
                loaded.stats.objects += objects.len();
                loaded.stats.invalid_items += errors.len();
                loaded.objects.extend(objects);
                loaded.errors.extend(errors);
            }
            DocResult::Error(error) | DocResult::NotObject(error) | DocResult::Unparsed(error) => {
                loaded.stats.invalid_documents += 1;
                loaded.errors.push(error);
            }
        }
    }
    loaded
}

/// Which files to skip for their content: files none of whose documents is a Kubernetes object
/// or a List and that have documents without `apiVersion` and `kind` (other tools' YAML and
/// JSON), or documents that do not parse in a text with `{{ }}` template actions (an
/// unrendered Helm template). One entry per file.
fn content_skips(
    files: &[SourceFile],
    jobs: &[(usize, usize, Chunk)],
    results: &[DocResult],
) -> Vec<Option<classify::SkipReason>> {
    #[derive(Default, Clone, Copy)]
    struct Seen {
        object: bool,
        error: bool,
        unparsed: bool,
        not_object: bool,
    }
    let mut seen = vec![Seen::default(); files.len()];
    for ((file, _, _), result) in jobs.iter().zip(results) {
        let s = &mut seen[*file];
        match result {
            DocResult::Empty => {}
            DocResult::Objects { .. } => s.object = true,
            DocResult::Error(_) => s.error = true,
            DocResult::Unparsed(_) => s.unparsed = true,
            DocResult::NotObject(_) => s.not_object = true,
        }
    }
    seen.iter()
        .zip(files)
        .map(|(s, f)| {
            if s.object || s.error {
                None
            } else if s.unparsed && classify::has_template_actions(&f.text) {
                Some(classify::SkipReason::HelmTemplate)
            } else if s.not_object && !s.unparsed {
                Some(classify::SkipReason::NotKubernetes)
            } else {
                None
            }
        })
        .collect()
}

/// Loads one in-memory text (for tests and for the webhook's offline context).
#[must_use]
pub fn load_str(path: &str, text: &str, options: &LoadOptions) -> Loaded {
    load(
        vec![Input {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }],
        options,
    )
}

/// Takes the input's bytes as text without copying them (a BOM is dropped in place).
fn decode(path: &str, mut bytes: Vec<u8>) -> Result<String, LoadError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid_up_to = e.utf8_error().valid_up_to();
        let valid = &bytes[..valid_up_to];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        LoadError {
            file: path.to_string(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(col).unwrap_or(u32::MAX),
            message: format!(
                "invalid UTF-8 (byte 0x{:02X}); Kubernetes manifests must be UTF-8",
                bytes[valid_up_to]
            ),
        }
    })
}

enum DocResult {
    Empty,
    Objects {
        objects: Vec<Object>,
        list: bool,
        errors: Vec<LoadError>,
    },
    Error(LoadError),
    /// A document that parsed but has neither `apiVersion` nor `kind` (or is not a mapping).
    NotObject(LoadError),
    /// A document that is not valid YAML or JSON.
    Unparsed(LoadError),
}

fn load_document(
    files: &[SourceFile],
    file: usize,
    doc: usize,
    chunk: &Chunk,
    options: &LoadOptions,
) -> DocResult {
    let source = &files[file];
    let text = &source.text[chunk.start..chunk.end];
    let err = |pos: Pos, message: String| LoadError {
        file: source.path.clone(),
        line: pos.line,
        column: pos.col,
        message,
    };
    if text.len() > options.limits.max_document_bytes {
        return DocResult::Error(err(
            Pos {
                line: chunk.line,
                col: 1,
            },
            format!(
                "document of {} bytes exceeds the limit of {} bytes (raise it with --max-document-size)",
                text.len(),
                options.limits.max_document_bytes
            ),
        ));
    }
    let parsed = match yaml::parse_document_lenient(text, chunk.line, options.limits) {
        Ok(parsed) => parsed,
        Err(e) => {
            // The parser may report the end of input one line past the document's last line
            // (found by the `load` fuzz target): keep the position inside the document.
            let last_line =
                chunk.line + u32::try_from(text.lines().count().max(1) - 1).unwrap_or(0);
            let pos = if e.pos.line > last_line {
                Pos {
                    line: last_line,
                    col: 1,
                }
            } else {
                e.pos
            };
            return DocResult::Unparsed(err(pos, e.message));
        }
    };
    let Some(root) = parsed.root else {
        return DocResult::Empty;
    };
    let origin = Origin {
        file,
        document: doc,
        item: None,
        helm_source: chunk.helm_source.clone(),
    };
    let is_list = root
        .get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && root.get("items").is_some();
    if !is_list {
        let not_object =
            !root.is_map() || (root.get("kind").is_none() && root.get("apiVersion").is_none());
        return match to_object(root, origin, options) {
            Ok(mut object) => {
                object.quirks = parsed.quirks;
                DocResult::Objects {
                    objects: vec![object],
                    list: false,
                    errors: Vec::new(),
                }
            }
            Err((pos, message)) if not_object => DocResult::NotObject(err(pos, message)),
            Err((pos, message)) => DocResult::Error(err(pos, message)),
        };
    }
    let Value::Map(entries) = root.value else {
        return DocResult::Empty;
    };
    let Some(items) = entries.into_iter().find(|e| &*e.key == "items") else {
        return DocResult::Empty;
    };
    let items = match items.value.value {
        Value::Seq(items) => items,
        Value::Null => Vec::new(),
        other => {
            let node = Node::new(other, items.value.pos);
            return DocResult::Error(err(
                node.pos,
                format!("`items` of a List is a {}, not a list", node.type_name()),
            ));
        }
    };
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let origin = Origin {
            item: Some(i),
            ..origin.clone()
        };
        match to_object(item, origin, options) {
            Ok(object) => objects.push(object),
            Err((pos, message)) => errors.push(err(pos, format!("List item {i}: {message}"))),
        }
    }
    // Each quirk belongs to the last item that starts at or before it.
    for quirk in parsed.quirks {
        let pos = quirk.pos();
        if let Some(object) = objects.iter_mut().rev().find(|o| o.root.pos <= pos) {
            object.quirks.push(quirk);
        }
    }
    DocResult::Objects {
        objects,
        list: true,
        errors,
    }
}

/// The [`Origin::file`] of objects decoded by an API server ([`object_from_json`]).
const API_SERVER: usize = usize::MAX;

/// Builds an object from JSON that did not come from a file (an API server list, an admission
/// review). Positions are unknown (line 0), so findings on it have no location, only a path.
///
/// # Errors
/// When the value is not a Kubernetes object (not a mapping, no `kind` or `apiVersion`).
pub fn object_from_json(
    value: &serde_json::Value,
    options: &LoadOptions,
) -> Result<Object, String> {
    object_from_node(Node::from_json(value, Pos::default()), options)
}

/// [`object_from_json`] for an object already converted to nodes (every position the default
/// one), as `meshready cluster` parses most kinds.
///
/// # Errors
/// As [`object_from_json`].
pub fn object_from_node(root: Node, options: &LoadOptions) -> Result<Object, String> {
    let origin = Origin {
        file: API_SERVER,
        document: 0,
        item: None,
        helm_source: None,
    };
    to_object(root, origin, options).map_err(|(_, message)| message)
}

fn retain(node: &mut Node, keep: impl Fn(&str) -> bool) {
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|e| keep(&e.key));
    }
}

fn entry_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|e| &*e.key == key)
            .map(|e| &mut e.value),
        _ => None,
    }
}

/// Drops what the caller's policy says no rule reads: the bodies of kinds the rules skip (only
/// `apiVersion`, `kind` and `metadata` stay, for counting and suppression), ConfigMap data the
/// rules do not read, `managedFields`, kubectl's last-applied annotation, and unread pod and
/// container fields of every pod template. Positions of everything kept are unchanged.
fn prune(object: &mut Object, policy: &Prune) {
    if let Some(meta) = entry_mut(&mut object.root, "metadata") {
        retain(meta, |k| k != "managedFields");
        if let Some(annotations) = entry_mut(meta, "annotations") {
            retain(annotations, |k| {
                k != "kubectl.kubernetes.io/last-applied-configuration"
            });
        }
    }
    if !(policy.known_object)(object) {
        retain(&mut object.root, |k| {
            matches!(k, "apiVersion" | "kind" | "metadata")
        });
        return;
    }
    if object.kind == "ConfigMap" && !(policy.config_map_data)(&object.name) {
        retain(&mut object.root, |k| !matches!(k, "data" | "binaryData"));
        return;
    }
    let Some(templates) = object.templates.take() else {
        return;
    };
    for template in &templates {
        if let Some(spec) = object.root.pointer_mut(&format!("{template}/spec")) {
            prune_pod_spec(spec, policy);
        }
    }
    object.templates = Some(templates);
}

/// Drops the fields of a pod spec that the policy says no rule reads.
fn prune_pod_spec(node: &mut Node, policy: &Prune) {
    retain(node, |k| !policy.unread_pod_fields.contains(&k));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Node {
            value: Value::Seq(items),
            ..
        }) = entry_mut(node, list)
        {
            for container in items {
                retain(container, |k| !policy.unread_container_fields.contains(&k));
                if let Value::Map(entries) = &mut container.value {
                    entries.retain_mut(|e| {
                        !matches!(
                            &*e.key,
                            "livenessProbe" | "readinessProbe" | "startupProbe" | "lifecycle"
                        ) || (policy.keep_handler)(&e.key, &mut e.value)
                    });
                }
            }
        }
    }
}

fn to_object(root: Node, origin: Origin, options: &LoadOptions) -> Result<Object, (Pos, String)> {
    if !root.is_map() {
        return Err((
            root.pos,
            format!(
                "document is a {}, not a Kubernetes object (a mapping)",
                root.type_name()
            ),
        ));
    }
    let kind = match root.get("kind") {
        Some(node) => match node.as_str() {
            Some(kind) if !kind.is_empty() => kind.to_string(),
            _ => {
                return Err((
                    node.pos,
                    format!("`kind` is a {}, not a non-empty string", node.type_name()),
                ));
            }
        },
        None => return Err((root.pos, "object has no `kind`".into())),
    };
    let api_version = match root.get("apiVersion") {
        Some(node) => match node.as_str() {
            Some(v) => v.to_string(),
            None => {
                return Err((
                    node.pos,
                    format!("`apiVersion` is a {}, not a string", node.type_name()),
                ));
            }
        },
        None => return Err((root.pos, format!("{kind} has no `apiVersion`"))),
    };
    let metadata = root.get("metadata");
    if let Some(meta) = metadata
        && !meta.is_map()
        && !meta.is_null()
    {
        return Err((
            meta.pos,
            format!("`metadata` is a {}, not a mapping", meta.type_name()),
        ));
    }
    let name = metadata
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| "<unnamed>".into());
    let namespace = if is_cluster_scoped(&kind) {
        String::new()
    } else {
        metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Node::scalar_text)
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| options.default_namespace.clone())
    };
    let templates =
        crate::source::kinds::templates_of(&root, &kind, &api_version, &options.pod_templates);
    let digest = digest::content(&root);
    let mut object = Object {
        kind,
        api_version,
        name,
        namespace,
        origin,
        root,
        quirks: Vec::new(),
        templates,
        digest,
        copies: Vec::new(),
    };
    if let Some(policy) = &options.prune {
        prune(&mut object, policy);
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_document_does_not_hide_its_neighbours() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: [unclosed\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n";
        let loaded = load_str("x.yaml", text, &LoadOptions::default());
        assert_eq!(
            loaded
                .objects
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(loaded.errors.len(), 1);
        assert_eq!(loaded.errors[0].file, "x.yaml");
        assert!(loaded.errors[0].line >= 5, "{:?}", loaded.errors[0]);
        assert_eq!(
            loaded.stats,
            Stats {
                files: 1,
                documents: 3,
                lists: 0,
                list_items: 0,
                objects: 2,
                invalid_documents: 1,
                invalid_items: 0,
                ..Stats::default()
            }
        );
    }

    #[test]
    fn lists_unroll_and_bad_items_are_reported() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n- 42\n";
        let loaded = load_str("l.yaml", text, &LoadOptions::default());
        assert_eq!(loaded.objects.len(), 1);
        assert_eq!(loaded.objects[0].origin.item, Some(0));
        assert_eq!(loaded.errors[0].line, 7);
        assert!(
            loaded.errors[0].message.contains("List item 1"),
            "{}",
            loaded.errors[0].message
        );
        assert_eq!(loaded.stats.lists, 1);
        assert_eq!(loaded.stats.objects, 1);
        assert_eq!(loaded.stats.invalid_items, 1);
        assert_eq!(loaded.stats.list_items, 1);
    }

    #[test]
    fn bom_crlf_and_default_namespace() {
        let text = "\u{feff}apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\n";
        let options = LoadOptions {
            default_namespace: "team".into(),
            ..LoadOptions::default()
        };
        let loaded = load_str("p.yaml", text, &options);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!(loaded.objects[0].namespace, "team");
        assert_eq!(
            loaded.objects[0].root.locate("/metadata/name"),
            Pos { line: 4, col: 3 }
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_position() {
        let input = Input {
            path: "bad.yaml".into(),
            bytes: b"a: 1\nb: \xff\n".to_vec(),
        };
        let loaded = load(vec![input], &LoadOptions::default());
        assert_eq!((loaded.errors[0].line, loaded.errors[0].column), (2, 4));
    }

    #[test]
    fn non_mapping_documents_and_missing_kind_are_errors_among_objects() {
        let loaded = load_str(
            "x.yaml",
            "- a\n---\nfoo: bar\n---\n\"text\"\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
            &LoadOptions::default(),
        );
        assert_eq!(loaded.errors.len(), 3);
        assert!(loaded.errors[0].message.contains("not a Kubernetes object"));
        assert!(loaded.errors[1].message.contains("no `kind`"));
        assert_eq!(loaded.stats.skipped_files, 0);
    }

    #[test]
    fn files_of_other_tools_are_skipped_by_reason() {
        let inputs = vec![
            Input {
                path: "tool.yaml".into(),
                bytes: b"- a\n---\nfoo: bar\n".to_vec(),
            },
            Input {
                path: "chart/Chart.yaml".into(),
                bytes: b"apiVersion: v2\nname: c\n".to_vec(),
            },
            Input {
                path: "raw.yaml".into(),
                bytes: b"metadata:\n  name: {{ .Release.Name }}\n  {{- include \"x\" . }}\n"
                    .to_vec(),
            },
            Input {
                path: "broken.yaml".into(),
                bytes: b"kind: [unclosed\n".to_vec(),
            },
            Input {
                path: "typo.yaml".into(),
                bytes: b"apiVersion: v1\nkin: Pod\n".to_vec(),
            },
            Input {
                path: "-".into(),
                bytes: b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n".to_vec(),
            },
        ];
        let loaded = load(inputs, &LoadOptions::default());
        assert_eq!(loaded.stats.files, 3);
        assert_eq!(loaded.stats.skipped_files, 3);
        assert_eq!(
            loaded.stats.skipped_files_by_reason,
            [
                ("helm-chart", 1),
                ("helm-template", 1),
                ("not-kubernetes", 1)
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        );
        // A manifest that does not parse, and one with a typo, stay errors.
        let files: Vec<&str> = loaded.errors.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["broken.yaml", "typo.yaml"]);
        assert_eq!(loaded.stats.documents, 3);
        assert_eq!(loaded.stats.invalid_documents, 2);
    }

    #[test]
    fn errors_stay_inside_the_document() {
        // Found by the `load` fuzz target (fuzz/artifacts-found/load/error-past-eof.yaml).
        let loaded = load_str("x.yaml", ":\ni", &LoadOptions::default());
        assert_eq!(loaded.errors.len(), 1);
        assert!(loaded.errors[0].line <= 2, "{:?}", loaded.errors[0]);
    }

    #[test]
    fn the_line_index_finds_the_lines_that_line_finds() {
        let mut long = String::new();
        for i in 0..300 {
            long.push_str(match i % 5 {
                0 => "a: 1\n",
                1 => "b\r\n",
                2 => "c\rd\r\r\n",
                3 => "\n",
                _ => "é\r",
            });
        }
        for text in ["", "x", "x\n", "\r", "\r\n\r", "a\r\r\nb", long.as_str()] {
            let file = SourceFile {
                path: "f".into(),
                text: text.into(),
            };
            let index = LineIndex::new(text);
            for n in 0..=700 {
                assert_eq!(index.line(n), file.line(n), "line {n} of {text:?}");
            }
        }
    }

    #[test]
    fn json_streams_load() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}\n";
        let loaded = load_str("x.json", text, &LoadOptions::default());
        assert_eq!(loaded.objects.len(), 2);
        assert_eq!(loaded.objects[1].root.locate("/metadata/name").line, 2);
    }
}
