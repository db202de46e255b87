//! Files that are not Kubernetes manifests (Helm charts' metadata and values, Kustomize
//! configuration, CI workflows, other tools' JSON and YAML): recognised by name or content,
//! skipped and counted by reason instead of reported as broken objects.

use serde::Serialize;

/// Why a file was not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// `Chart.yaml`, `Chart.lock`, `requirements.yaml`: a Helm chart's metadata.
    HelmChart,
    /// `values*.yaml`, `values.schema.json`: a Helm chart's values.
    HelmValues,
    /// A template with `{{ }}` that is not rendered (`helm template` renders it).
    HelmTemplate,
    /// `kustomization.yaml`: Kustomize configuration.
    Kustomization,
    /// A resource or patch that Kustomize reads (analysed only in the built output).
    KustomizeInput,
    /// A CI pipeline (`.github/workflows/*`, `.gitlab-ci.yml`, ...).
    CiConfig,
    /// Another tool's configuration (`package.json`, `docker-compose.yml`, ...).
    ToolConfig,
    /// No document has an `apiVersion` or a `kind`.
    NotKubernetes,
}

impl SkipReason {
    /// The reason's key in the summary (kebab-case).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HelmChart => "helm-chart",
            Self::HelmValues => "helm-values",
            Self::HelmTemplate => "helm-template",
            Self::Kustomization => "kustomization",
            Self::KustomizeInput => "kustomize-input",
            Self::CiConfig => "ci-config",
            Self::ToolConfig => "tool-config",
            Self::NotKubernetes => "not-kubernetes",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CI pipelines named by their file (`.github/workflows/` is recognised by its directory).
const CI_FILES: &[&str] = &[
    ".gitlab-ci.yml",
    ".gitlab-ci.yaml",
    ".travis.yml",
    "azure-pipelines.yml",
    "azure-pipelines.yaml",
    "bitbucket-pipelines.yml",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    "appveyor.yml",
    ".drone.yml",
    "codecov.yml",
    ".codecov.yml",
    "dependabot.yml",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    "action.yml",
    "action.yaml",
    "renovate.json",
    ".goreleaser.yml",
    ".goreleaser.yaml",
];

/// Other tools' files, by exact name.
const TOOL_FILES: &[&str] = &[
    "package.json",
    "package-lock.json",
    "composer.json",
    "composer.lock",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    "lerna.json",
    "nx.json",
    "turbo.json",
    "deno.json",
    "bower.json",
    "tslint.json",
    "jsconfig.json",
    "angular.json",
    "vercel.json",
    "netlify.json",
    "firebase.json",
    "app.json",
    "manifest.json",
    "openapi.yaml",
    "openapi.json",
    "swagger.yaml",
    "swagger.json",
    "mkdocs.yml",
    "mkdocs.yaml",
    "_config.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    "serverless.yml",
    "Pulumi.yaml",
    "buf.yaml",
    "buf.gen.yaml",
    "conda.yaml",
    "environment.yml",
    "pubspec.yaml",
    ".golangci.yml",
    ".golangci.yaml",
    ".yamllint.yaml",
    ".yamllint.yml",
    ".markdownlint.yaml",
    ".markdownlint.json",
    ".prettierrc.json",
    ".prettierrc.yaml",
    ".eslintrc.json",
    ".eslintrc.yml",
    ".eslintrc.yaml",
    ".babelrc.json",
    ".stylelintrc.json",
    ".kube-linter.yaml",
    ".kube-linter.yml",
    ".meshready.yaml",
    "devcontainer.json",
    ".devcontainer.json",
];

/// Classifies a file by its path alone (`/` or `\` separated); `None`: read it.
#[must_use]
pub fn classify_path(path: &str) -> Option<SkipReason> {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let name = *parts.last()?;
    let lower = name.to_ascii_lowercase();
    let dir = |i: usize| parts.len().checked_sub(i + 1).map(|j| parts[j]);
    if matches!(
        name,
        "Chart.yaml" | "Chart.yml" | "Chart.lock" | "requirements.yaml" | "requirements.lock"
    ) {
        return Some(SkipReason::HelmChart);
    }
    if lower == "values.schema.json"
        || (lower.starts_with("values")
            && (lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")))
    {
        return Some(SkipReason::HelmValues);
    }
    if matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        return Some(SkipReason::Kustomization);
    }
    let in_github = |d: &str| dir(1) == Some(d) && dir(2) == Some(".github");
    if in_github("workflows")
        || in_github("actions")
        || (dir(2) == Some("actions") && dir(3) == Some(".github"))
        || dir(1) == Some(".circleci")
        || dir(1) == Some(".buildkite")
        || CI_FILES.contains(&name)
        || (dir(1) == Some(".github") && name.ends_with(".yml"))
    {
        return Some(SkipReason::CiConfig);
    }
    if TOOL_FILES.contains(&name)
        || (lower.starts_with("tsconfig") && lower.ends_with(".json"))
        || (lower.starts_with("docker-compose")
            && (lower.ends_with(".yml") || lower.ends_with(".yaml")))
        || (lower.starts_with("pulumi.") && lower.ends_with(".yaml"))
        || dir(1) == Some(".vscode")
        || dir(1) == Some(".idea")
    {
        return Some(SkipReason::ToolConfig);
    }
    None
}

/// Whether a text has Go template actions (`{{ ... }}`), as Helm templates do.
#[must_use]
pub fn has_template_actions(text: &str) -> bool {
    text.find("{{").is_some_and(|at| text[at..].contains("}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide() {
        let c = classify_path;
        assert_eq!(c("chart/Chart.yaml"), Some(SkipReason::HelmChart));
        assert_eq!(c("chart/values-prod.yaml"), Some(SkipReason::HelmValues));
        assert_eq!(c("chart/values.schema.json"), Some(SkipReason::HelmValues));
        assert_eq!(c("k/kustomization.yaml"), Some(SkipReason::Kustomization));
        assert_eq!(
            c("repo/.github/workflows/ci.yml"),
            Some(SkipReason::CiConfig)
        );
        assert_eq!(c(".gitlab-ci.yml"), Some(SkipReason::CiConfig));
        assert_eq!(c("web/package.json"), Some(SkipReason::ToolConfig));
        assert_eq!(c("tsconfig.build.json"), Some(SkipReason::ToolConfig));
        assert_eq!(c("docker-compose.dev.yml"), Some(SkipReason::ToolConfig));
        assert_eq!(c("k8s/deployment.yaml"), None);
        assert_eq!(c("k8s/workflows/job.yaml"), None);
        assert_eq!(c("validating-webhook.yaml"), None);
    }

    #[test]
    fn template_actions() {
        assert!(has_template_actions("name: {{ .Release.Name }}\n"));
        assert!(!has_template_actions("a: '{{'\n"));
    }
}
