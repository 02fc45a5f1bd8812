//! `[tool.alembic-lsp]` in `pyproject.toml`, or `alembic-lsp.toml`: found by
//! walking up from the checked path, stopping at the repository root. The
//! CLI and the language server read the same file; CLI flags add to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::Severity;
use crate::rules::{self, Rule};

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    paths: Option<Vec<String>>,
    select: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    severity: Option<BTreeMap<String, String>>,
    max_heads: Option<usize>,
    branches: Option<Vec<String>>,
    concurrent_index_helpers: Option<Vec<String>>,
    require_reason: Option<bool>,
    schema_paths: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
}

/// The settings every part of the tool reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file these settings came from, if any.
    pub source: Option<PathBuf>,
    /// Relative paths in the file are relative to its folder.
    pub root: PathBuf,
    pub paths: Vec<PathBuf>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub severity: BTreeMap<&'static str, Option<Severity>>,
    pub max_heads: usize,
    pub branches: Vec<String>,
    pub concurrent_index_helpers: Vec<String>,
    pub require_reason: bool,
    pub schema_paths: Vec<String>,
    /// Rule code → tag text (`destructive: approved`), renamed or default.
    pub tags: BTreeMap<&'static str, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            root: PathBuf::from("."),
            paths: Vec::new(),
            select: vec!["MG".into()],
            ignore: Vec::new(),
            severity: BTreeMap::new(),
            max_heads: 1,
            branches: Vec::new(),
            concurrent_index_helpers: Vec::new(),
            require_reason: false,
            schema_paths: Vec::new(),
            tags: rules::ALL
                .iter()
                .filter_map(|r| r.tag.map(|t| (r.code, t.to_owned())))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Finds and reads the configuration for `start` (a file or folder).
    pub fn discover(start: &Path) -> Result<Config, ConfigError> {
        match find_config_file(start) {
            Some(path) => Config::load(&path),
            None => Ok(Config::default()),
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Config::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let where_ = path.display();
        let value: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError(format!("{where_}: {}", e.message())))?;
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let table = match value.get("tool").and_then(|t| t.get("alembic-lsp")) {
            Some(t) => t.clone(),
            None if is_pyproject => toml::Value::Table(toml::Table::new()),
            None => toml::Value::Table(value),
        };
        let raw: RawConfig = table.clone().try_into().map_err(|e: toml::de::Error| {
            // A type error does not say which key it is about: find the key
            // whose value alone fails.
            let key = table.as_table().and_then(|t| {
                t.iter().find_map(|(k, v)| {
                    let alone = toml::Table::from_iter([(k.clone(), v.clone())]);
                    toml::Value::Table(alone)
                        .try_into::<RawConfig>()
                        .is_err()
                        .then(|| format!("{k}: "))
                })
            });
            ConfigError(format!(
                "{where_}: [tool.alembic-lsp]: {}{}",
                key.unwrap_or_default(),
                e.message().trim()
            ))
        })?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Config {
            source: Some(path.to_path_buf()),
            root: root.clone(),
            ..Config::default()
        };
        config.apply(raw, &format!("{where_}"))?;
        Ok(config)
    }

    fn apply(&mut self, raw: RawConfig, where_: &str) -> Result<(), ConfigError> {
        if let Some(paths) = raw.paths {
            self.paths = paths.iter().map(|p| self.root.join(p)).collect();
        }
        if let Some(select) = raw.select {
            check_selectors(&select, "select", where_)?;
            self.select = select;
        }
        if let Some(ignore) = raw.ignore {
            check_selectors(&ignore, "ignore", where_)?;
            self.ignore = ignore;
        }
        for (code, level) in raw.severity.unwrap_or_default() {
            let rule = rules::by_code(&code)
                .ok_or_else(|| ConfigError(format!("{where_}: severity: unknown rule `{code}`")))?;
            let level = match level.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                "off" => None,
                other => {
                    return Err(ConfigError(format!(
                    "{where_}: severity.{code}: `{other}` is not one of error, warning, info, off"
                )))
                }
            };
            self.severity.insert(rule.code, level);
        }
        if let Some(n) = raw.max_heads {
            if n == 0 {
                return Err(ConfigError(format!(
                    "{where_}: max-heads must be at least 1"
                )));
            }
            self.max_heads = n;
        }
        if let Some(b) = raw.branches {
            self.branches = b;
        }
        if let Some(h) = raw.concurrent_index_helpers {
            self.concurrent_index_helpers = h;
        }
        if let Some(r) = raw.require_reason {
            self.require_reason = r;
        }
        if let Some(s) = raw.schema_paths {
            for pattern in &s {
                globset::Glob::new(pattern).map_err(|e| {
                    ConfigError(format!("{where_}: schema-paths: `{pattern}`: {e}"))
                })?;
            }
            self.schema_paths = s;
        }
        for (code, tag) in raw.tags.unwrap_or_default() {
            let rule = rules::by_code(&code)
                .filter(|r| r.tag.is_some())
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{where_}: tags: `{code}` is not a rule with an approval tag (MG101–MG104)"
                    ))
                })?;
            let tag = tag.trim().trim_start_matches('#').trim().to_owned();
            if crate::rules::tags::parse_tag_text(&tag).is_none() {
                return Err(ConfigError(format!(
                    "{where_}: tags.{code}: `{tag}` is not of the form `key: value`"
                )));
            }
            self.tags.insert(rule.code, tag);
        }
        Ok(())
    }

    /// CLI `--select` / `--ignore` add to the file's lists.
    pub fn add_selectors(
        &mut self,
        select: &[String],
        ignore: &[String],
    ) -> Result<(), ConfigError> {
        check_selectors(select, "--select", "command line")?;
        check_selectors(ignore, "--ignore", "command line")?;
        if !select.is_empty() && self.select == ["MG"] && self.source.is_none() {
            // With no configuration, `--select` says what to run.
            self.select.clear();
        }
        self.select.extend(select.iter().cloned());
        self.ignore.extend(ignore.iter().cloned());
        Ok(())
    }

    /// The severity a rule reports at, or `None` when it is off. The most
    /// specific selector wins; on a tie, `ignore` wins.
    pub fn severity_of(&self, rule: &Rule) -> Option<Severity> {
        if let Some(level) = self.severity.get(rule.code) {
            if level.is_none() {
                return None;
            }
        }
        let best = |list: &[String]| {
            list.iter()
                .filter(|s| rule.code.starts_with(s.as_str()))
                .map(String::len)
                .max()
        };
        match (best(&self.select), best(&self.ignore)) {
            (None, _) => return None,
            (Some(s), Some(i)) if i >= s => return None,
            _ => {}
        }
        Some(
            self.severity
                .get(rule.code)
                .copied()
                .flatten()
                .unwrap_or(rule.default_severity),
        )
    }

    pub fn tag_for(&self, code: &str) -> Option<&str> {
        self.tags.get(code).map(String::as_str)
    }
}

fn check_selectors(list: &[String], key: &str, where_: &str) -> Result<(), ConfigError> {
    for s in list {
        if !rules::ALL.iter().any(|r| r.code.starts_with(s.as_str())) || s.is_empty() {
            return Err(ConfigError(format!(
                "{where_}: {key}: `{s}` matches no rule (codes are MG001…MG402; see --list-rules)"
            )));
        }
    }
    Ok(())
}

/// `alembic-lsp.toml`, or a `pyproject.toml` with `[tool.alembic-lsp]`, in
/// `start` or a parent, not above the repository root.
pub fn find_config_file(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() {
        start.parent()?
    } else {
        start
    };
    let start = std::path::absolute(start).ok()?;
    for dir in start.ancestors() {
        let own = dir.join("alembic-lsp.toml");
        if own.is_file() {
            return Some(own);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            if let Ok(text) = std::fs::read_to_string(&pyproject) {
                if let Ok(table) = text.parse::<toml::Table>() {
                    if table
                        .get("tool")
                        .and_then(|t| t.get("alembic-lsp"))
                        .is_some()
                    {
                        return Some(pyproject);
                    }
                }
            }
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/p/pyproject.toml"))
    }

    #[test]
    fn full_example_of_the_spec() {
        let c = parse(
            r#"
[tool.alembic-lsp]
paths = ["app/migrations/versions"]
select = ["MG"]
ignore = ["MG401"]
severity = { MG301 = "error", MG305 = "off" }
max-heads = 1
branches = ["expand", "contract"]
concurrent-index-helpers = ["app.core.migrations.create_index_concurrently"]
require-reason = true
schema-paths = ["app/schema/**"]
[tool.alembic-lsp.tags]
MG101 = "destructive: approved"
"#,
        )
        .unwrap();
        assert_eq!(c.paths, vec![PathBuf::from("/p/app/migrations/versions")]);
        assert_eq!(
            c.severity_of(rules::by_code("MG301").unwrap()),
            Some(Severity::Error)
        );
        assert_eq!(c.severity_of(rules::by_code("MG305").unwrap()), None);
        assert_eq!(c.severity_of(rules::by_code("MG401").unwrap()), None);
        assert!(c.require_reason);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let e = parse("[tool.alembic-lsp]\nmax_heads = 2\n").unwrap_err();
        assert!(e.0.contains("max_heads"), "{e}");
        let e = parse("[tool.alembic-lsp]\nseverity = { MG101 = \"loud\" }\n").unwrap_err();
        assert!(e.0.contains("loud"), "{e}");
        let e = parse("[tool.alembic-lsp]\nselect = [\"XX1\"]\n").unwrap_err();
        assert!(e.0.contains("XX1"), "{e}");
        let e = parse("[tool.alembic-lsp]\nmax-heads = \"two\"\n").unwrap_err();
        assert!(e.0.contains("max-heads") || e.0.contains("integer"), "{e}");
    }

    #[test]
    fn most_specific_selector_wins() {
        let c = Config {
            ignore: vec!["MG3".into()],
            select: vec!["MG".into(), "MG301".into()],
            ..Config::default()
        };
        assert!(c.severity_of(rules::by_code("MG301").unwrap()).is_some());
        assert!(c.severity_of(rules::by_code("MG302").unwrap()).is_none());
    }
}
