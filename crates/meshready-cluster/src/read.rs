//! Reading the cluster: client from kubeconfig or in-cluster config, per-group discovery, and
//! paginated, read-only lists of exactly the kinds in [`crate::kinds`], several kinds at once,
//! every request retried as client-go does ([`crate::http`]), every page reduced as it arrives
//! ([`crate::reduce`]).
//!
//! Kinds are read in three stages, each stage's lists concurrently: everything but ReplicaSets
//! and Pods; then ReplicaSets (reduced when their Deployment was read); then Pods (reduced and
//! grouped when their controller was read). A `410 Expired` continue token restarts that list
//! from its beginning, its partial result dropped; a list that still fails after its retries
//! ends the read, naming the kind and what it was needed for.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::FuturesOrdered;
use futures::{StreamExt, TryStreamExt};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use meshready_core::source::kinds as templates;
use meshready_core::source::{LoadOptions, Node, Object, Pos, object_from_node};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::http::{self, Failure, Retry};
use crate::kinds::{
    self, CONFIGMAP, DEFAULT_ISTIO_NAMESPACE, INJECTOR_CONFIGMAP, KINDS, Kind, Need,
};
use crate::limit::{Limiter, Rate};
use crate::pieces::joined;
use crate::reduce::{self, Grouping, PodGroups, Ref};

/// Pages of one list waiting to be reduced, or being reduced (on blocking threads), while the
/// next page downloads. Reducing a page of Pods costs more CPU than receiving it, so with two
/// the download of a large list kept stopping to wait for a reduction (~0.2 s at 150,000 pods);
/// with four it rarely does. Each page in flight holds its body (500 pods: ~4 MB, in the
/// pieces it arrived in).
const PARSING: usize = 4;

/// Pages of one list downloading at once: the next page is asked for as soon as the first piece
/// of the newest one tells its continue token, so that the API server prepares it while the
/// pages before it arrive.
const DOWNLOADING: usize = 2;

/// Pages reduced at once, over all lists: one per core (at least two). Each reduction runs on a
/// blocking thread with its own allocator heap; with no bound, the lists read at once kept up
/// to 16 of them busy on two cores, and the memory each thread's heap kept raised the peak RSS
/// by ~60 MB at 150,000 pods, for no gain in time.
fn reducers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .max(2)
}

/// What the first piece of a page that is downloading told of the page after it.
#[derive(Debug, Clone, Copy)]
enum Successor {
    /// Nothing yet: the whole page will tell.
    Unknown,
    /// There is none: this is the last page.
    None,
    /// It has been asked for, with the token the first piece told.
    Asked,
}

/// How often one list may restart after `410 Expired` before the read gives up.
const MAX_RESTARTS: u32 = 3;

/// How to connect and what to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--kubeconfig`: a kubeconfig file instead of `$KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`: a kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// `-n/--namespace`: the namespaces to read (empty: the context's namespace).
    pub namespaces: Vec<String>,
    /// `-A/--all-namespaces`.
    pub all_namespaces: bool,
    /// Objects per list request (`limit`); later pages follow the `continue` token.
    pub page_size: u32,
    /// The whole read must finish within this time.
    pub timeout: Duration,
    /// How each request is retried.
    pub retry: Retry,
    /// How many lists run at once.
    pub concurrency: usize,
    /// The client-side rate limit every request attempt waits on.
    pub rate: Rate,
    /// Pods are grouped by controller while the controllers are still being read; the pods
    /// of controllers that turn out not to exist (or not to be readable) are read again: one
    /// `get` each when there are at most this many, else by listing the pods again.
    pub orphan_gets: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            namespaces: Vec::new(),
            all_namespaces: false,
            page_size: 500,
            timeout: Duration::from_secs(60),
            retry: Retry::default(),
            concurrency: 4,
            rate: Rate::default(),
            orphan_gets: 100,
        }
    }
}

/// Which namespaces were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace.
    All,
    /// These namespaces.
    Namespaces(Vec<String>),
}

/// A kind that RBAC does not let us read: its checks did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// `kind` (`DaemonSet`).
    pub kind: &'static str,
    /// The namespaces where it was forbidden (empty: cluster-wide).
    pub namespaces: Vec<String>,
    /// The checks that could not run.
    pub used_for: &'static str,
    /// The API server's message for the first refusal.
    pub message: String,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {} (forbidden", self.kind)?;
        if !self.namespaces.is_empty() {
            write!(f, " in namespace {}", self.namespaces.join(", "))?;
        }
        write!(f, "); skipped: {}", self.used_for)
    }
}

/// What happened while reading, step by step (for a progress indicator).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The kind being read.
    pub kind: &'a str,
    /// The namespace (None: cluster-wide).
    pub namespace: Option<&'a str>,
    /// Objects read so far, all kinds together.
    pub objects: usize,
    /// Requests sent so far.
    pub requests: usize,
}

/// Everything read from the cluster.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The objects, reduced to what the rules read (see [`crate::reduce`]), kinds in the order
    /// of [`KINDS`], then the injector ConfigMaps.
    pub objects: Vec<Object>,
    /// Objects that are not Kubernetes objects (`Kind namespace/name: why`).
    pub invalid: Vec<String>,
    /// Kinds RBAC forbade, one entry per kind.
    pub forbidden: Vec<Forbidden>,
    /// Kinds the API server does not serve (skipped silently).
    pub not_served: Vec<&'static str>,
    /// The namespaces read (None before a read).
    pub scope: Option<Scope>,
    /// Namespaces given with `-n` (or the context's) that do not exist.
    pub missing_namespaces: Vec<String>,
    /// Requests sent, retries included.
    pub requests: usize,
    /// The API server's Kubernetes minor version (`/version`), when it answered.
    pub kubernetes_minor: Option<u32>,
}

/// Builds a client: `--kubeconfig` and `--context` if given, else the usual inference
/// (`$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account). Its own retries are
/// off: [`read`] retries every request itself.
///
/// # Errors
/// When no configuration can be loaded or the client cannot be built.
pub async fn client(options: &Options) -> Result<Client> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = match (&options.kubeconfig, &options.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
            Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(Error::Config)?
        }
        (None, Some(_)) => Config::from_kubeconfig(&kube_options)
            .await
            .map_err(Error::Config)?,
        (None, None) => Config::infer().await.map_err(Error::Infer)?,
    };
    config.default_retry = false;
    skip_system_roots_for_plain_http(&mut config);
    Client::try_from(config).map_err(Error::Client)
}

/// A server reached over plain HTTP (`kubectl proxy`, a loopback stand-in) never checks a
/// certificate, yet kube-rs builds its TLS settings anyway, with the system's trust store
/// when the kubeconfig names no CA: ~60 ms of reading certificates before the first request.
/// An empty trust store is the same for such a server. HTTPS servers and proxies keep theirs.
fn skip_system_roots_for_plain_http(config: &mut Config) {
    if config.cluster_url.scheme() == Some(&::http::uri::Scheme::HTTP)
        && config.proxy_url.is_none()
        && config.root_cert.is_none()
        && config.root_cert_file.is_none()
    {
        config.root_cert = Some(Vec::new());
    }
}

/// Reads the cluster under `options.timeout`.
///
/// # Errors
/// On a timeout, or a request that fails other than with 403 or 404 after its retries.
pub async fn read(
    client: Client,
    options: &Options,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Snapshot> {
    let reader = Reader {
        client,
        page_size: options.page_size.max(1),
        retry: options.retry,
        concurrency: options.concurrency.max(1),
        orphan_gets: options.orphan_gets,
        limiter: Limiter::new(options.rate),
        progress,
        requests: AtomicUsize::new(0),
        objects: AtomicUsize::new(0),
        forbidden: Mutex::new(BTreeMap::new()),
        reducing: Arc::new(tokio::sync::Semaphore::new(reducers())),
    };
    tokio::time::timeout(options.timeout, reader.run(options))
        .await
        .map_err(|_| Error::Timeout(options.timeout))?
}

struct Reader<'p> {
    client: Client,
    page_size: u32,
    retry: Retry,
    concurrency: usize,
    orphan_gets: usize,
    limiter: Option<Limiter>,
    progress: &'p (dyn Fn(Progress<'_>) + Sync),
    requests: AtomicUsize,
    objects: AtomicUsize,
    /// Forbidden kinds, one entry each.
    forbidden: Mutex<BTreeMap<&'static str, Forbidden>>,
    /// A permit per page being reduced ([`reducers`]).
    reducing: Arc<tokio::sync::Semaphore>,
}

/// A reduced answer.
type Reduced = std::result::Result<Listed, String>;

/// A page of a list on its way: the token it was asked with, and the answer.
type PageAnswer<'s> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = (Option<String>, std::result::Result<Vec<Bytes>, Failure>)>
            + Send
            + 's,
    >,
>;

/// One read: a list (in a namespace or everywhere) or a GET by name.
#[derive(Debug, Clone)]
struct Job {
    kind: &'static Kind,
    namespace: Option<String>,
    /// Some: GET this object; None: list.
    name: Option<String>,
}

impl Job {
    fn list(kind: &'static Kind, namespace: Option<&str>) -> Self {
        Self {
            kind,
            namespace: namespace.map(str::to_string),
            name: None,
        }
    }

    /// The URL path of the request (without the query).
    fn path(&self) -> String {
        let kind = self.kind;
        let mut path = if kind.group.is_empty() {
            format!("/api/{}", kind.version)
        } else {
            format!("/apis/{}/{}", kind.group, kind.version)
        };
        if let Some(ns) = &self.namespace {
            path.push_str("/namespaces/");
            path.push_str(&encode(ns));
        }
        path.push('/');
        path.push_str(kind.plural);
        if let Some(name) = &self.name {
            path.push('/');
            path.push_str(&encode(name));
        }
        path
    }

    /// `list pods in all namespaces`, `get configmaps istio-system/istio-sidecar-injector`.
    fn describe(&self) -> String {
        let plural = self.kind.plural;
        match (&self.name, &self.namespace) {
            (Some(name), Some(ns)) => format!("get {plural} {ns}/{name}"),
            (Some(name), None) => format!("get {plural} {name}"),
            (None, Some(ns)) => format!("list {plural} in namespace {ns}"),
            (None, None) if self.kind.namespaced => format!("list {plural} in all namespaces"),
            (None, None) => format!("list {plural}"),
        }
    }
}

/// What is done to each object of a page beyond the parser's reduction.
#[derive(Debug, Clone)]
enum Reduction {
    /// Nothing.
    None,
    /// ReplicaSets whose controller is one of these Deployments: [`reduce::owned_replicaset`].
    ReplicaSets(Arc<Grouping>),
    /// Pods, grouped as this says: [`reduce::owned_pod`].
    Pods(Arc<Grouping>),
}

/// What one job read.
#[derive(Debug, Default)]
struct Listed {
    objects: Vec<Object>,
    pods: PodGroups,
    invalid: Vec<String>,
}

impl Listed {
    fn len(&self) -> usize {
        self.objects.len() + self.pods.pods()
    }

    /// Adds an API object (in the core's nodes), or why it is not one.
    fn push(&mut self, node: Node, options: &LoadOptions) {
        let what = describe(&node);
        match object_from_node(node, options) {
            Ok(object) => self.objects.push(object),
            Err(message) => self.invalid.push(format!("{what}: {message}")),
        }
    }

    fn append(&mut self, other: Self) {
        self.objects.extend(other.objects);
        self.pods.append(other.pods);
        self.invalid.extend(other.invalid);
    }
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses and reduces one answer (a list page, or one object when `single`), given as the
/// pieces it arrived in: pages of Pods and ReplicaSets are reduced from them, the others are
/// joined first.
fn reduce_page(
    body: &[Bytes],
    kind: &'static Kind,
    reduction: &Reduction,
    single: bool,
) -> std::result::Result<Listed, String> {
    let status = reduce::Status::of(kind.kind);
    let api_version = kind.api_version();
    let to_node = |value: &Value| Node::from_json(value, Pos::default());
    let nodes: Vec<(bool, Node)> = match (reduction, single) {
        // GETs (the injector ConfigMap, pods whose controller is missing) are kept whole.
        (_, true) => vec![(
            false,
            to_node(&reduce::object(&joined(body), status).map_err(|e| e.to_string())?),
        )],
        (Reduction::Pods(grouping), false) => return reduce_pods(body, grouping),
        (Reduction::ReplicaSets(deployments), false) => {
            reduce::replica_set_items(body, deployments, &api_version, kind.kind)
                .map_err(|e| e.to_string())?
                .iter()
                .map(|(reduced, value)| (*reduced, to_node(value)))
                .collect()
        }
        // The other kinds: parsed straight into the core's nodes.
        (Reduction::None, false) => reduce::item_nodes(&joined(body), status)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|node| (false, node))
            .collect(),
    };
    let options = LoadOptions::default();
    let mut listed = Listed::default();
    for (reduced, mut node) in nodes {
        if !reduced {
            // List responses (and metadata-only answers) leave out or change each item's
            // apiVersion and kind.
            reduce::set_type(&mut node, &api_version, kind.kind);
        }
        listed.push(node, &options);
    }
    Ok(listed)
}

/// Lowers the priority of a thread that reduces pages below that of the thread that receives
/// them (nice +9, once per thread; best effort; Linux, where the nice value is per thread).
/// The pages of one list come one after another, each asked for when the previous one has
/// arrived: when the cores are busy, receiving goes first and the API server stays busy, and
/// the pages waiting to be reduced catch up while the next one downloads, instead of both
/// slowing down.
fn yield_to_receiving() {
    #[cfg(target_os = "linux")]
    {
        thread_local!(static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !LOWERED.with(|lowered| lowered.replace(true)) {
            let _ = rustix::process::nice(9);
        }
    }
}

/// Reduces an answer on a blocking thread ([`reduce_page`]) once one of `reducing`'s permits
/// is free; pages wait for it in the order they arrived.
fn spawn_reduction(
    reducing: &Arc<tokio::sync::Semaphore>,
    body: Vec<Bytes>,
    kind: &'static Kind,
    reduction: &Reduction,
    single: bool,
) -> tokio::task::JoinHandle<Reduced> {
    let reduction = reduction.clone();
    spawn_limited(reducing, move || {
        yield_to_receiving();
        reduce_page(&body, kind, &reduction, single)
    })
}

/// Runs `work` on a blocking thread once one of `permits` is free (given in the order asked),
/// and frees it when `work` ends.
fn spawn_limited(
    permits: &Arc<tokio::sync::Semaphore>,
    work: impl FnOnce() -> Reduced + Send + 'static,
) -> tokio::task::JoinHandle<Reduced> {
    let permits = Arc::clone(permits);
    tokio::spawn(async move {
        let permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| e.to_string())?
    })
}

/// Parses and reduces a page of Pods, grouped as `grouping` says.
fn reduce_pods(body: &[Bytes], grouping: &Grouping) -> std::result::Result<Listed, String> {
    let options = LoadOptions::default();
    let mut listed = Listed::default();
    let whole = reduce::pod_items(body, grouping, &mut listed.pods).map_err(|e| e.to_string())?;
    for pod in whole {
        listed.push(Node::from_json(&pod, Pos::default()), &options);
    }
    Ok(listed)
}

/// `Kind namespace/name` of an API object, for messages.
fn describe(node: &Node) -> String {
    let text = |keys: &[&str]| node.at(keys).and_then(Node::as_str);
    let kind = text(&["kind"]).unwrap_or("object");
    let name = text(&["metadata", "name"]).unwrap_or("<unnamed>");
    match text(&["metadata", "namespace"]) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// `(kind, namespace, name)` of every object that `keep` accepts.
fn refs(objects: &[Object], keep: impl Fn(&Object) -> bool) -> HashSet<Ref> {
    objects
        .iter()
        .filter(|o| keep(o))
        .map(|o| (o.kind.clone(), o.namespace.clone(), o.name.clone()))
        .collect()
}

impl Reader<'_> {
    /// The API server's minor version from `/version` (`"33"`, `"33+"`); `None` when it does
    /// not answer (the rules then assume the newest release).
    async fn kubernetes_minor(&self) -> Option<u32> {
        let info = self.client.apiserver_version().await.ok()?;
        info.minor
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
            .filter(|_| info.major == "1")
    }

    async fn run(self, options: &Options) -> Result<Snapshot> {
        let served = self.discover().await?;
        let is_served = |k: &Kind| match served.get(&k.api_version()) {
            Some(Some(plurals)) => plurals.contains(k.plural),
            Some(None) => false,
            None => true,
        };
        let pod_security = KINDS
            .iter()
            .filter(|k| matches!(k.kind, "PodSecurityPolicy" | "SecurityContextConstraints"))
            .any(is_served);
        let scope = if options.all_namespaces {
            Scope::All
        } else if options.namespaces.is_empty() {
            Scope::Namespaces(vec![self.client.default_namespace().to_string()])
        } else {
            let mut namespaces = options.namespaces.clone();
            namespaces.sort();
            namespaces.dedup();
            Scope::Namespaces(namespaces)
        };
        let mut snapshot = Snapshot {
            kubernetes_minor: self.kubernetes_minor().await,
            ..Snapshot::default()
        };
        // Stage 1: everything but ReplicaSets and Pods; 2: ReplicaSets; 3: Pods.
        let mut stages: [Vec<Job>; 3] = Default::default();
        for kind in KINDS {
            if !is_served(kind) {
                tracing::debug!(kind = kind.kind, "not served by the API server; skipped");
                snapshot.not_served.push(kind.kind);
                continue;
            }
            if kind.need == Need::WithPodSecurityPolicies && !pod_security {
                tracing::debug!(
                    kind = kind.kind,
                    "no pod security policies served; not read"
                );
                continue;
            }
            let stage = match kind.kind {
                "ReplicaSet" => &mut stages[1],
                "Pod" => &mut stages[2],
                _ => &mut stages[0],
            };
            match (&scope, kind.namespaced) {
                (Scope::Namespaces(namespaces), false) if kind.kind == "Namespace" => {
                    stage.extend(namespaces.iter().map(|ns| Job {
                        kind,
                        namespace: None,
                        name: Some(ns.clone()),
                    }));
                }
                (Scope::Namespaces(namespaces), true) => {
                    stage.extend(namespaces.iter().map(|ns| Job::list(kind, Some(ns))));
                }
                _ => stage.push(Job::list(kind, None)),
            }
        }
        let [first, replicasets, pods] = stages;
        let pod_jobs = pods.clone();
        // Pods are read at the same time as their controllers (they are most of what is read):
        // a pod whose controller is of a kind with pod templates is grouped; once the
        // controllers are known, the pods of those that do not exist are read again, whole.
        let controller_kinds = KINDS
            .iter()
            .filter(|k| k.kind != "Pod" && templates::builtin(k.kind, &k.api_version()).is_some())
            .map(|k| k.kind.to_string())
            .collect();
        let pod_reduction = Reduction::Pods(Arc::new(Grouping::Kinds(controller_kinds)));
        let others = async {
            let mut read = self.jobs(first, &Reduction::None).await?;
            let deployments = refs(&read.objects, |o| o.kind == "Deployment");
            read.append(
                self.jobs(
                    replicasets,
                    &Reduction::ReplicaSets(Arc::new(Grouping::Present(deployments))),
                )
                .await?,
            );
            let configmaps = self.injector_configmaps(&read.objects);
            read.append(self.jobs(configmaps, &Reduction::None).await?);
            Ok(read)
        };
        let (mut read, mut pods) = futures::try_join!(others, self.jobs(pods, &pod_reduction))?;
        // The workloads read, borrowed: asked once per group of pods.
        let workloads: HashSet<(&str, &str, &str)> = read
            .objects
            .iter()
            .filter(|o| o.templates.is_some())
            .map(|o| (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()))
            .collect();
        let orphans = pods
            .pods
            .take_orphans(|kind, namespace, name| workloads.contains(&(kind, namespace, name)));
        drop(workloads);
        read.append(pods);
        read.append(self.orphans(orphans, pod_jobs).await?);
        let Listed {
            mut objects,
            pods,
            mut invalid,
        } = read;
        // Owned pods after the others (the order of objects does not change findings).
        objects.reserve_exact(pods.groups());
        pods.into_objects(&mut objects, &mut invalid);
        let forbidden = self
            .forbidden
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if let Scope::Namespaces(namespaces) = &scope
            && !forbidden.contains_key("Namespace")
            && !snapshot.not_served.contains(&"Namespace")
        {
            let present: HashSet<&str> = objects
                .iter()
                .filter(|o| o.kind == "Namespace")
                .map(|o| o.name.as_str())
                .collect();
            snapshot.missing_namespaces = namespaces
                .iter()
                .filter(|ns| !present.contains(ns.as_str()))
                .cloned()
                .collect();
        }
        snapshot.objects = objects;
        snapshot.invalid = invalid;
        snapshot.scope = Some(scope);
        snapshot.forbidden = forbidden.into_values().collect();
        snapshot.requests = self.requests.load(Ordering::Relaxed);
        Ok(snapshot)
    }

    /// The orphans, `(namespace, name)`: pods read as grouped whose controller turned out
    /// not to exist (or not to be readable), read again whole: one `get` each, or, when there
    /// are many, by running the pod lists `lists` again for them only.
    async fn orphans(&self, orphans: Vec<(String, String)>, lists: Vec<Job>) -> Result<Listed> {
        if orphans.is_empty() {
            return Ok(Listed::default());
        }
        if orphans.len() > self.orphan_gets {
            let only = Grouping::Only(orphans.into_iter().collect());
            return self.jobs(lists, &Reduction::Pods(Arc::new(only))).await;
        }
        // The kind of the lists that read the orphans the first time.
        let Some(pod) = lists.first().map(|list| list.kind) else {
            return Ok(Listed::default());
        };
        let gets = orphans
            .into_iter()
            .map(|(namespace, name)| Job {
                kind: pod,
                namespace: Some(namespace),
                name: Some(name),
            })
            .collect();
        self.jobs(gets, &Reduction::None).await
    }

    /// Runs `jobs`, up to `concurrency` at once, and joins their results in the jobs' order.
    async fn jobs(&self, jobs: Vec<Job>, reduction: &Reduction) -> Result<Listed> {
        let results: Vec<Listed> = futures::stream::iter(jobs)
            .map(|job| self.job(job, reduction))
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let mut all = Listed::default();
        for listed in results {
            all.append(listed);
        }
        Ok(all)
    }

    fn report(&self, job: &Job) {
        (self.progress)(Progress {
            kind: job.kind.kind,
            namespace: job.namespace.as_deref(),
            objects: self.objects.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        });
    }

    async fn get(&self, path: &str, accept: &str) -> std::result::Result<Vec<Bytes>, Failure> {
        http::get(
            &self.client,
            path,
            accept,
            &self.retry,
            self.limiter.as_ref(),
            &self.requests,
            &mut |_| {},
        )
        .await
    }

    /// Runs one job; a forbidden or missing kind reads as nothing.
    async fn job(&self, job: Job, reduction: &Reduction) -> Result<Listed> {
        let metadata_only = kinds::metadata_only(job.kind);
        self.report(&job);
        if job.name.is_some() {
            let accept = if metadata_only {
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
            } else {
                "application/json"
            };
            let listed = match self.get(&job.path(), accept).await {
                Ok(body) => self.reduce(&job, body, reduction, true).await?,
                Err(failure) => self.refused(&job, failure)?,
            };
            self.objects.fetch_add(listed.len(), Ordering::Relaxed);
            return Ok(listed);
        }
        let accept = if metadata_only {
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        } else {
            "application/json"
        };
        let base = job.path();
        let mut restarts = 0;
        'list: loop {
            let mut listed = Listed::default();
            // Pages being reduced (in order) while the next ones download.
            let mut pending: VecDeque<tokio::task::JoinHandle<Reduced>> = VecDeque::new();
            // Pages downloading (at most `DOWNLOADING`), in order, and what each one's first
            // piece told of the page after it. The next page is asked for as soon as the first
            // piece of the newest one tells its continue token (`early`): the API server
            // prepares it while the rest of this one arrives.
            let mut fetches = FuturesOrdered::new();
            let mut successors: VecDeque<Successor> = VecDeque::new();
            let (answer, receiver) = self.fetch(&base, None, accept);
            fetches.push_back(answer);
            successors.push_back(Successor::Unknown);
            // The newest page's continue token, when its first piece tells it.
            let mut early = Some(receiver);
            loop {
                self.report(&job);
                let (asked_with, answer) = tokio::select! {
                    biased;
                    token = async {
                        match early.as_mut() {
                            Some(receiver) => receiver.await,
                            None => std::future::pending().await,
                        }
                    }, if early.is_some() && fetches.len() < DOWNLOADING =>
                    {
                        early = None;
                        // The receiver belongs to the newest page, the last of `successors`.
                        match token {
                            Ok(Some(token)) => {
                                let (answer, receiver) = self.fetch(&base, Some(token), accept);
                                fetches.push_back(answer);
                                early = Some(receiver);
                                if let Some(newest) = successors.back_mut() {
                                    *newest = Successor::Asked;
                                }
                                successors.push_back(Successor::Unknown);
                            }
                            Ok(None) => {
                                if let Some(newest) = successors.back_mut() {
                                    *newest = Successor::None;
                                }
                            }
                            // The first piece did not tell: the whole page will.
                            Err(_) => {}
                        }
                        continue;
                    }
                    Some(done) = fetches.next() => done,
                    // Nothing downloads, yet the last page has not come (not reached: a page
                    // with a continue token always leaves the next one asked for). Never a
                    // partial list read as whole.
                    else => {
                        return Err(self.unreadable(&job, &"the list ended before its last page"));
                    }
                };
                let successor = successors.pop_front().unwrap_or(Successor::Unknown);
                let body = match answer {
                    Ok(body) => body,
                    Err(failure)
                        if failure.code() == Some(410)
                            && asked_with.is_some()
                            && restarts < MAX_RESTARTS =>
                    {
                        // client-go's pager: the continue token expired, list again from the
                        // start; what this list read so far is dropped, so nothing counts twice.
                        tracing::debug!(list = %job.describe(), %failure, "restarting the list");
                        pending.drain(..).for_each(|p| p.abort());
                        restarts += 1;
                        continue 'list;
                    }
                    Err(failure) => {
                        pending.drain(..).for_each(|p| p.abort());
                        let listed = self.refused(&job, failure)?;
                        return Ok(listed);
                    }
                };
                // Whether a page follows this one: asked for already, with the token this
                // page's first piece told (`early_continue_token`: what `continue_token` reads
                // of the whole page); known to be none; or read from the whole page now (this
                // is then the newest page: a later one is asked for only once this one's token
                // is known), and asked for.
                let more = match successor {
                    Successor::Asked => true,
                    Successor::None => false,
                    Successor::Unknown => {
                        early = None;
                        let next =
                            reduce::continue_token(&body).map_err(|e| self.unreadable(&job, &e))?;
                        if let Some(token) = next {
                            let (answer, receiver) = self.fetch(&base, Some(token), accept);
                            fetches.push_back(answer);
                            successors.push_back(Successor::Unknown);
                            early = Some(receiver);
                            true
                        } else {
                            false
                        }
                    }
                };
                if pending.len() >= PARSING
                    && let Some(p) = pending.pop_front()
                {
                    let page = self.join(&job, p).await?;
                    self.objects.fetch_add(page.len(), Ordering::Relaxed);
                    listed.append(page);
                }
                pending.push_back(spawn_reduction(
                    &self.reducing,
                    body,
                    job.kind,
                    reduction,
                    false,
                ));
                if !more {
                    break;
                }
            }
            while let Some(p) = pending.pop_front() {
                let page = self.join(&job, p).await?;
                self.objects.fetch_add(page.len(), Ordering::Relaxed);
                listed.append(page);
            }
            return Ok(listed);
        }
    }

    /// Asks for one page of the list at `base` (the first, or the one `token` names): the
    /// answer, with the token; and the page's own continue token as soon as its first piece
    /// tells it (dropped unsent when it does not).
    fn fetch<'s>(
        &'s self,
        base: &str,
        token: Option<String>,
        accept: &'s str,
    ) -> (PageAnswer<'s>, oneshot::Receiver<Option<String>>) {
        let mut path = format!("{base}?limit={}", self.page_size);
        if let Some(token) = &token {
            path.push_str("&continue=");
            path.push_str(&encode(token));
        }
        let (sender, receiver) = oneshot::channel();
        let answer = async move {
            let mut sender = Some(sender);
            let mut on_first_piece = |first: &[u8]| {
                if let Some(token) = reduce::early_continue_token(first)
                    && let Some(sender) = sender.take()
                {
                    let _ = sender.send(token);
                }
            };
            let answer = http::get(
                &self.client,
                &path,
                accept,
                &self.retry,
                self.limiter.as_ref(),
                &self.requests,
                &mut on_first_piece,
            )
            .await;
            (token, answer)
        };
        (Box::pin(answer), receiver)
    }

    /// Reduces one answer off the async threads.
    async fn reduce(
        &self,
        job: &Job,
        body: Vec<Bytes>,
        reduction: &Reduction,
        single: bool,
    ) -> Result<Listed> {
        let task = spawn_reduction(&self.reducing, body, job.kind, reduction, single);
        self.join(job, task).await
    }

    async fn join(&self, job: &Job, task: tokio::task::JoinHandle<Reduced>) -> Result<Listed> {
        match task.await {
            Ok(result) => result.map_err(|message| self.unreadable(job, &message)),
            Err(e) => Err(self.unreadable(job, &e)),
        }
    }

    /// An answer that is not the JSON it should be.
    fn unreadable(&self, job: &Job, error: &dyn std::fmt::Display) -> Error {
        Error::Read {
            what: job.describe(),
            used_for: job.kind.used_for,
            failure: format!("the answer is not a Kubernetes list or object: {error}"),
        }
    }

    /// Handles a failed request: 404 reads as nothing, 403 is remembered once per kind,
    /// anything else stops the read.
    fn refused(&self, job: &Job, failure: Failure) -> Result<Listed> {
        match (failure.code(), &failure) {
            (Some(404), _) => Ok(Listed::default()),
            (Some(403), Failure::Status { message, .. }) => {
                let kind = job.kind;
                tracing::debug!(kind = kind.kind, namespace = ?job.namespace, %message, "forbidden; skipped");
                let mut forbidden = self.forbidden.lock().unwrap_or_else(|e| e.into_inner());
                let entry = forbidden.entry(kind.kind).or_insert_with(|| Forbidden {
                    kind: kind.kind,
                    namespaces: Vec::new(),
                    used_for: kind.used_for,
                    message: message.clone(),
                });
                if let Some(ns) = &job.namespace
                    && !entry.namespaces.iter().any(|n| n == ns)
                {
                    entry.namespaces.push(ns.clone());
                }
                Ok(Listed::default())
            }
            _ => Err(Error::Read {
                what: job.describe(),
                used_for: job.kind.used_for,
                failure: failure.to_string(),
            }),
        }
    }

    /// Discovery, one request per group-version: `Some(None)` when the API server does not
    /// serve the group-version at all (404), `Some(Some(plurals))` when it does, and no entry
    /// when discovery itself was refused (then the lists are tried and judged one by one).
    async fn discover(&self) -> Result<BTreeMap<String, Option<BTreeSet<String>>>> {
        #[derive(serde::Deserialize)]
        struct Resource {
            name: String,
        }
        #[derive(serde::Deserialize)]
        struct ResourceList {
            #[serde(default)]
            resources: Vec<Resource>,
        }
        let versions: BTreeSet<(&str, &str)> = KINDS
            .iter()
            .chain([&CONFIGMAP])
            .map(|k| (k.group, k.version))
            .collect();
        let answers: Vec<(String, std::result::Result<Vec<Bytes>, Failure>)> =
            futures::stream::iter(versions)
                .map(|(group, version)| async move {
                    let (api_version, path) = if group.is_empty() {
                        (version.to_string(), format!("/api/{version}"))
                    } else {
                        (
                            format!("{group}/{version}"),
                            format!("/apis/{group}/{version}"),
                        )
                    };
                    let answer = self.get(&path, "application/json").await;
                    (api_version, answer)
                })
                .buffered(self.concurrency)
                .collect()
                .await;
        let mut served = BTreeMap::new();
        for (api_version, answer) in answers {
            match answer {
                Ok(body) => {
                    let list: ResourceList =
                        serde_json::from_slice(&joined(&body)).map_err(|e| Error::Discover {
                            api_version: api_version.clone(),
                            failure: format!("the answer is not an APIResourceList: {e}"),
                        })?;
                    let plurals = list
                        .resources
                        .into_iter()
                        .filter(|r| !r.name.contains('/'))
                        .map(|r| r.name)
                        .collect();
                    served.insert(api_version, Some(plurals));
                }
                Err(failure) => match failure.code() {
                    Some(404) => {
                        served.insert(api_version, None);
                    }
                    Some(403) => {}
                    _ => {
                        return Err(Error::Discover {
                            api_version,
                            failure: failure.to_string(),
                        });
                    }
                },
            }
        }
        Ok(served)
    }

    /// The injector ConfigMaps to fetch by name: `istio-sidecar-injector` and, for every
    /// revision named by an injector webhook, `istio-sidecar-injector-<revision>`, in the
    /// namespaces those webhooks point at (default `istio-system`). Never lists ConfigMaps.
    fn injector_configmaps(&self, objects: &[Object]) -> Vec<Job> {
        let mut namespaces = BTreeSet::new();
        let mut names = BTreeSet::from([INJECTOR_CONFIGMAP.to_string()]);
        for object in objects {
            if object.kind != "MutatingWebhookConfiguration" {
                continue;
            }
            let name = object.name.as_str();
            if !(name.starts_with(INJECTOR_CONFIGMAP) || name.starts_with("istio-revision-tag")) {
                continue;
            }
            if let Some(rev) = object
                .root
                .at(&["metadata", "labels", "istio.io/rev"])
                .and_then(Node::as_str)
                && !rev.is_empty()
                && rev != "default"
            {
                names.insert(format!("{INJECTOR_CONFIGMAP}-{rev}"));
            }
            let hooks = object
                .root
                .get("webhooks")
                .map(Node::items)
                .unwrap_or_default();
            for hook in hooks {
                if let Some(ns) = hook
                    .at(&["clientConfig", "service", "namespace"])
                    .and_then(Node::as_str)
                {
                    namespaces.insert(ns.to_string());
                }
            }
        }
        if namespaces.is_empty() {
            namespaces.insert(DEFAULT_ISTIO_NAMESPACE.to_string());
        }
        let mut jobs = Vec::new();
        for ns in &namespaces {
            for name in &names {
                jobs.push(Job {
                    kind: &kinds::CONFIGMAP,
                    namespace: Some(ns.clone()),
                    name: Some(name.clone()),
                });
            }
        }
        jobs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_descriptions() {
        let pods = KINDS.iter().find(|k| k.kind == "Pod").unwrap();
        let job = Job::list(pods, None);
        assert_eq!(job.path(), "/api/v1/pods");
        assert_eq!(job.describe(), "list pods in all namespaces");
        let job = Job::list(pods, Some("shop"));
        assert_eq!(job.path(), "/api/v1/namespaces/shop/pods");
        let cm = Job {
            kind: &CONFIGMAP,
            namespace: Some("istio-system".into()),
            name: Some("istio-sidecar-injector".into()),
        };
        assert_eq!(
            cm.path(),
            "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector"
        );
        assert_eq!(
            cm.describe(),
            "get configmaps istio-system/istio-sidecar-injector"
        );
        assert_eq!(encode("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }

    #[test]
    fn only_plain_http_servers_skip_the_system_trust_store() {
        let config = |url: &str| Config::new(url.parse().unwrap());
        let mut plain = config("http://127.0.0.1:8001");
        skip_system_roots_for_plain_http(&mut plain);
        assert_eq!(plain.root_cert, Some(Vec::new()));
        let mut tls = config("https://10.0.0.1:6443");
        skip_system_roots_for_plain_http(&mut tls);
        assert_eq!(tls.root_cert, None);
        let mut proxied = config("http://127.0.0.1:8001");
        proxied.proxy_url = Some("https://proxy:3128".parse().unwrap());
        skip_system_roots_for_plain_http(&mut proxied);
        assert_eq!(proxied.root_cert, None);
        let mut with_ca = config("http://127.0.0.1:8001");
        with_ca.root_cert = Some(vec![b"der".to_vec()]);
        skip_system_roots_for_plain_http(&mut with_ca);
        assert_eq!(with_ca.root_cert, Some(vec![b"der".to_vec()]));
    }

    #[tokio::test]
    async fn reductions_beyond_the_bound_wait_their_turn_and_all_end() {
        use std::sync::atomic::AtomicUsize;
        let permits = Arc::new(tokio::sync::Semaphore::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                spawn_limited(&permits, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, Ordering::SeqCst);
                    if i == 3 {
                        return Err("page 3 is not JSON".into());
                    }
                    Ok(Listed::default())
                })
            })
            .collect();
        let mut failed = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            if let Err(message) = task.await.unwrap() {
                failed.push((i, message));
            }
        }
        assert_eq!(failed, [(3, "page 3 is not JSON".to_string())]);
        // Never more than two at once (eight at once without the bound: each sleeps long
        // enough for the blocking pool to start a thread for every other one).
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} reductions ran at once");
        // Every permit came back, the failed reduction's too.
        assert_eq!(permits.available_permits(), 2);
    }

    /// The nice value of the calling thread (field 19 of `/proc/thread-self/stat`).
    #[cfg(target_os = "linux")]
    fn nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reducing_threads_yield_to_the_receiving_one() {
        let (before, after, again) = std::thread::spawn(|| {
            let before = nice();
            yield_to_receiving();
            let after = nice();
            yield_to_receiving();
            (before, after, nice())
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 9).min(19), "lowered by 9, once");
        assert_eq!(again, after, "not lowered twice");
        // Other threads keep their priority.
        assert_eq!(nice(), before);
    }
}
