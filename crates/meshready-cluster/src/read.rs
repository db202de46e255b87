//! Reading the cluster: client from kubeconfig or in-cluster config, per-group discovery, and
//! paginated, read-only lists of exactly the kinds in [`crate::kinds`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::kinds::{
    self, CONFIGMAP, DEFAULT_ISTIO_NAMESPACE, INJECTOR_CONFIGMAP, KINDS, Kind, Need,
};

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
    /// The objects, as the API server returned them (with `apiVersion` and `kind` set, without
    /// `metadata.managedFields`), in reading order.
    pub objects: Vec<Value>,
    /// Kinds RBAC forbade, one entry per kind.
    pub forbidden: Vec<Forbidden>,
    /// Kinds the API server does not serve (skipped silently).
    pub not_served: Vec<&'static str>,
    /// The namespaces read (None before a read).
    pub scope: Option<Scope>,
    /// Namespaces given with `-n` (or the context's) that do not exist.
    pub missing_namespaces: Vec<String>,
}

/// Builds a client: `--kubeconfig` and `--context` if given, else the usual inference
/// (`$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account).
///
/// # Errors
/// When no configuration can be loaded or the client cannot be built.
pub async fn client(options: &Options) -> Result<Client> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match (&options.kubeconfig, &options.context) {
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
    Client::try_from(config).map_err(Error::Client)
}

/// Reads the cluster under `options.timeout`.
///
/// # Errors
/// On a timeout, or a request that fails other than with 403 or 404.
pub async fn read(
    client: Client,
    options: &Options,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Snapshot> {
    let reader = Reader {
        client,
        page_size: options.page_size.max(1),
        progress,
        requests: 0,
        snapshot: Snapshot::default(),
        forbidden: BTreeMap::new(),
    };
    tokio::time::timeout(options.timeout, reader.run(options))
        .await
        .map_err(|_| Error::Timeout(options.timeout))?
}

struct Reader<'p> {
    client: Client,
    page_size: u32,
    progress: &'p (dyn Fn(Progress<'_>) + Sync),
    requests: usize,
    snapshot: Snapshot,
    /// Forbidden kinds, one entry each.
    forbidden: BTreeMap<&'static str, Forbidden>,
}

/// How a request ended when it did not succeed.
enum Refusal {
    Forbidden(String),
    NotFound,
}

fn refusal(error: &kube::Error) -> Option<Refusal> {
    match error {
        kube::Error::Api(status) if status.code == 403 => {
            Some(Refusal::Forbidden(status.message.clone()))
        }
        kube::Error::Api(status) if status.code == 404 => Some(Refusal::NotFound),
        _ => None,
    }
}

impl Reader<'_> {
    async fn run(mut self, options: &Options) -> Result<Snapshot> {
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
        for kind in KINDS {
            if !is_served(kind) {
                tracing::debug!(kind = kind.kind, "not served by the API server; skipped");
                self.snapshot.not_served.push(kind.kind);
                continue;
            }
            if kind.need == Need::WithPodSecurityPolicies && !pod_security {
                tracing::debug!(
                    kind = kind.kind,
                    "no pod security policies served; not read"
                );
                continue;
            }
            match (&scope, kind.namespaced) {
                (Scope::Namespaces(namespaces), false) if kind.kind == "Namespace" => {
                    for ns in namespaces {
                        self.get(kind, None, ns).await?;
                    }
                }
                (Scope::Namespaces(namespaces), true) => {
                    for ns in namespaces {
                        self.list(kind, Some(ns)).await?;
                    }
                }
                _ => self.list(kind, None).await?,
            }
        }
        self.injector_configmaps().await?;
        if let Scope::Namespaces(namespaces) = &scope
            && !self.forbidden.contains_key("Namespace")
            && !self.snapshot.not_served.contains(&"Namespace")
        {
            let objects = &self.snapshot.objects;
            self.snapshot.missing_namespaces = namespaces
                .iter()
                .filter(|ns| {
                    !objects
                        .iter()
                        .any(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns.as_str())
                })
                .cloned()
                .collect();
        }
        self.snapshot.scope = Some(scope);
        self.snapshot.forbidden = self.forbidden.into_values().collect();
        Ok(self.snapshot)
    }

    /// Discovery, one request per group-version: `Some(None)` when the API server does not
    /// serve the group-version at all (404), `Some(Some(plurals))` when it does, and no entry
    /// when discovery itself was refused (then the lists are tried and judged one by one).
    async fn discover(&mut self) -> Result<BTreeMap<String, Option<BTreeSet<String>>>> {
        let mut served = BTreeMap::new();
        let versions: BTreeSet<(&str, &str)> = KINDS
            .iter()
            .chain([&CONFIGMAP])
            .map(|k| (k.group, k.version))
            .collect();
        for (group, version) in versions {
            let api_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            self.requests += 1;
            let result = if group.is_empty() {
                self.client.list_core_api_resources(version).await
            } else {
                self.client.list_api_group_resources(&api_version).await
            };
            match result {
                Ok(list) => {
                    let plurals = list
                        .resources
                        .into_iter()
                        .filter(|r| !r.name.contains('/'))
                        .map(|r| r.name)
                        .collect();
                    served.insert(api_version, Some(plurals));
                }
                Err(e) => match refusal(&e) {
                    Some(Refusal::NotFound) => {
                        served.insert(api_version, None);
                    }
                    Some(Refusal::Forbidden(_)) => {}
                    None => {
                        return Err(Error::Request {
                            what: format!("discover API group {api_version}"),
                            source: e,
                        });
                    }
                },
            }
        }
        Ok(served)
    }

    fn api(&self, kind: &Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(kind.group, kind.version, kind.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, kind.plural);
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    fn report(&self, kind: &Kind, namespace: Option<&str>) {
        (self.progress)(Progress {
            kind: kind.kind,
            namespace,
            objects: self.snapshot.objects.len(),
            requests: self.requests,
        });
    }

    /// Lists every object of `kind` (in `namespace`, or everywhere), page by page.
    async fn list(&mut self, kind: &Kind, namespace: Option<&str>) -> Result<()> {
        let api = self.api(kind, namespace);
        let mut params = ListParams::default().limit(self.page_size);
        loop {
            self.report(kind, namespace);
            self.requests += 1;
            let page = match api.list(&params).await {
                Ok(page) => page,
                Err(e) => return self.refused(kind, namespace, e),
            };
            for item in page.items {
                self.push(kind, item)?;
            }
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => return Ok(()),
            }
        }
    }

    /// Reads one object by name; a missing object is skipped.
    async fn get(&mut self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<()> {
        self.report(kind, namespace);
        self.requests += 1;
        match self.api(kind, namespace).get(name).await {
            Ok(object) => self.push(kind, object),
            Err(e) => self.refused(kind, namespace, e),
        }
    }

    /// Handles a failed request: 404 is skipped silently, 403 is remembered once per kind,
    /// anything else stops the read.
    fn refused(&mut self, kind: &Kind, namespace: Option<&str>, error: kube::Error) -> Result<()> {
        match refusal(&error) {
            Some(Refusal::NotFound) => Ok(()),
            Some(Refusal::Forbidden(message)) => {
                tracing::debug!(kind = kind.kind, ?namespace, %message, "forbidden; skipped");
                let entry = self
                    .forbidden
                    .entry(kind.kind)
                    .or_insert_with(|| Forbidden {
                        kind: kind.kind,
                        namespaces: Vec::new(),
                        used_for: kind.used_for,
                        message,
                    });
                if let Some(ns) = namespace
                    && !entry.namespaces.iter().any(|n| n == ns)
                {
                    entry.namespaces.push(ns.to_string());
                }
                Ok(())
            }
            None => Err(Error::Request {
                what: match namespace {
                    Some(ns) => format!("read {} in namespace {ns}", kind.plural),
                    None => format!("read {}", kind.plural),
                },
                source: error,
            }),
        }
    }

    fn push(&mut self, kind: &Kind, mut object: DynamicObject) -> Result<()> {
        object.metadata.managed_fields = None;
        let mut value = serde_json::to_value(&object).map_err(|source| Error::Encode {
            what: format!(
                "{} {}",
                kind.kind,
                object.metadata.name.clone().unwrap_or_default()
            ),
            source,
        })?;
        if let Value::Object(map) = &mut value {
            // List responses leave out each item's apiVersion and kind.
            map.insert("apiVersion".into(), Value::String(kind.api_version()));
            map.insert("kind".into(), Value::String(kind.kind.into()));
        }
        self.snapshot.objects.push(value);
        Ok(())
    }

    /// Fetches the injector ConfigMaps by name: `istio-sidecar-injector` and, for every revision
    /// named by an injector webhook, `istio-sidecar-injector-<revision>`, in the namespaces
    /// those webhooks point at (default `istio-system`). Never lists ConfigMaps.
    async fn injector_configmaps(&mut self) -> Result<()> {
        let mut namespaces = BTreeSet::new();
        let mut names = BTreeSet::from([INJECTOR_CONFIGMAP.to_string()]);
        for object in &self.snapshot.objects {
            if object["kind"] != "MutatingWebhookConfiguration" {
                continue;
            }
            let name = object["metadata"]["name"].as_str().unwrap_or("");
            if !(name.starts_with(INJECTOR_CONFIGMAP) || name.starts_with("istio-revision-tag")) {
                continue;
            }
            if let Some(rev) = object["metadata"]["labels"]["istio.io/rev"].as_str()
                && !rev.is_empty()
                && rev != "default"
            {
                names.insert(format!("{INJECTOR_CONFIGMAP}-{rev}"));
            }
            for hook in object["webhooks"].as_array().into_iter().flatten() {
                if let Some(ns) = hook["clientConfig"]["service"]["namespace"].as_str() {
                    namespaces.insert(ns.to_string());
                }
            }
        }
        if namespaces.is_empty() {
            namespaces.insert(DEFAULT_ISTIO_NAMESPACE.to_string());
        }
        for ns in &namespaces {
            for name in &names {
                self.get(&kinds::CONFIGMAP, Some(ns), name).await?;
            }
        }
        Ok(())
    }
}
