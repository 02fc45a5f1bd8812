//! Finding the migrations: `alembic.ini` (with Alembic's `configparser`
//! rules), `pyproject.toml` `[tool.alembic]`, explicit paths, and the files
//! of a version location in Alembic's own order and name filter.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// A folder Alembic reads revisions from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionLocation {
    pub path: PathBuf,
    pub recursive: bool,
}

/// One revision graph's worth of files: an Alembic script location, or the
/// paths of one `--check` call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectSpec {
    /// Where the graph is configured (`alembic.ini`, `pyproject.toml`), if anywhere.
    pub config_file: Option<PathBuf>,
    pub script_location: Option<PathBuf>,
    pub version_locations: Vec<VersionLocation>,
    /// Files named directly: checked as migrations whatever their name.
    pub files: Vec<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryError(pub String);

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `--check` with no path: the nearest `alembic.ini` or `pyproject.toml`
/// `[tool.alembic]` above `start`.
pub fn discover(start: &Path) -> Result<Vec<ProjectSpec>, DiscoveryError> {
    let start = std::path::absolute(start).map_err(|e| DiscoveryError(e.to_string()))?;
    for dir in start.ancestors() {
        let found = specs_in(dir)?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Err(DiscoveryError(format!(
        "no alembic.ini or pyproject.toml [tool.alembic] found in {} or its parents; pass the versions folder or files to check",
        start.display()
    )))
}

/// The Alembic projects configured by files in `dir` itself.
pub fn specs_in(dir: &Path) -> Result<Vec<ProjectSpec>, DiscoveryError> {
    let mut specs = Vec::new();
    let ini = dir.join("alembic.ini");
    if ini.is_file() {
        if let Some(spec) = read_alembic_ini(&ini)? {
            specs.push(spec);
        }
    }
    let pyproject = dir.join("pyproject.toml");
    if specs.is_empty() && pyproject.is_file() {
        if let Some(spec) = read_pyproject(&pyproject)? {
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// `--check PATH...`: all the paths of one call form one graph.
pub fn from_paths(paths: &[PathBuf]) -> Result<ProjectSpec, DiscoveryError> {
    let mut spec = ProjectSpec::default();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| DiscoveryError(format!("{}: {}", path.display(), io_reason(&e))))?;
        let configured = if meta.is_dir() {
            specs_in(path)?
        } else {
            Vec::new()
        };
        if meta.is_file() {
            spec.files.push(path.clone());
        } else if !configured.is_empty() {
            // A project root (it holds alembic.ini or [tool.alembic]): its
            // configured version locations.
            for found in configured {
                spec.config_file = spec.config_file.or(found.config_file);
                spec.script_location = spec.script_location.or(found.script_location);
                spec.version_locations.extend(found.version_locations);
            }
        } else if path.join("env.py").is_file() {
            let from_config = configured_spec_for_script_location(path)?;
            let locations = match from_config {
                Some(found) => {
                    spec.config_file = spec.config_file.or(found.config_file);
                    spec.script_location = spec.script_location.or(found.script_location);
                    found.version_locations
                }
                None => vec![VersionLocation {
                    path: path.join("versions"),
                    recursive: false,
                }],
            };
            spec.version_locations.extend(locations);
        } else {
            let recursive = configured_recursion(path).unwrap_or(true);
            spec.version_locations.push(VersionLocation {
                path: path.clone(),
                recursive,
            });
        }
    }
    Ok(spec)
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn nearest_specs(from: &Path) -> Vec<ProjectSpec> {
    let Ok(from) = std::path::absolute(from) else {
        return Vec::new();
    };
    for dir in from.ancestors() {
        if let Ok(found) = specs_in(dir) {
            if !found.is_empty() {
                return found;
            }
        }
    }
    Vec::new()
}

fn configured_spec_for_script_location(dir: &Path) -> Result<Option<ProjectSpec>, DiscoveryError> {
    Ok(nearest_specs(dir).into_iter().find(|s| {
        s.script_location
            .as_deref()
            .is_some_and(|loc| same_path(loc, dir))
    }))
}

fn configured_recursion(dir: &Path) -> Option<bool> {
    nearest_specs(dir)
        .iter()
        .flat_map(|s| &s.version_locations)
        .find(|v| same_path(&v.path, dir))
        .map(|v| v.recursive)
}

/// Reads `[alembic]` of an `alembic.ini`. `None` when it has no
/// `script_location` (not an Alembic configuration).
pub fn read_alembic_ini(path: &Path) -> Result<Option<ProjectSpec>, DiscoveryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DiscoveryError(format!("{}: {}", path.display(), io_reason(&e))))?;
    let here = absolute_parent(path);
    let here = here.as_path();
    let ini = Ini::parse(&text);
    let get = |key: &str| ini.get("alembic", key, here);
    let Some(script_location) = get("script_location") else {
        return Ok(None);
    };
    let script_location = resolve_script_location(&script_location, here);
    let separator = get("path_separator").or_else(|| get("version_path_separator"));
    let recursive = get("recursive_version_locations").is_some_and(|v| v == "true");
    let locations = match get("version_locations") {
        Some(value) => split_version_locations(&value, separator.as_deref())
            .map_err(|e| DiscoveryError(format!("{}: {e}", path.display())))?
            .into_iter()
            .map(|p| here.join(p))
            .collect(),
        None => vec![script_location.join("versions")],
    };
    Ok(Some(configured_spec(
        path,
        script_location,
        locations,
        recursive,
    )))
}

/// Reads `[tool.alembic]` of a `pyproject.toml` (Alembic 1.16+).
pub fn read_pyproject(path: &Path) -> Result<Option<ProjectSpec>, DiscoveryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DiscoveryError(format!("{}: {}", path.display(), io_reason(&e))))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        DiscoveryError(format!("{}: {}", path.display(), e.message()))
    })?;
    let Some(alembic) = table.get("tool").and_then(|t| t.get("alembic")) else {
        return Ok(None);
    };
    let here = absolute_parent(path);
    let here = here.as_path();
    let expand = |s: &str| here.join(s.replace("%(here)s", &here.to_string_lossy()));
    let Some(script_location) = alembic.get("script_location").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let script_location = resolve_script_location(script_location, here);
    let recursive = alembic
        .get("recursive_version_locations")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let locations: Vec<PathBuf> = match alembic.get("version_locations") {
        Some(toml::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(expand)
            .collect(),
        Some(toml::Value::String(s)) => split_version_locations(s, None)
            .map_err(|e| DiscoveryError(format!("{}: {e}", path.display())))?
            .iter()
            .map(|s| expand(s))
            .collect(),
        _ => vec![script_location.join("versions")],
    };
    Ok(Some(configured_spec(
        path,
        script_location,
        locations,
        recursive,
    )))
}

/// The spec an Alembic configuration file describes.
fn configured_spec(
    config_file: &Path,
    script_location: PathBuf,
    locations: Vec<PathBuf>,
    recursive: bool,
) -> ProjectSpec {
    ProjectSpec {
        config_file: Some(config_file.to_path_buf()),
        version_locations: locations
            .into_iter()
            .map(|path| VersionLocation { path, recursive })
            .collect(),
        script_location: Some(script_location),
        files: Vec::new(),
    }
}

/// `%(here)s`: the configuration file's folder, absolute as in Alembic.
fn absolute_parent(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// A path, or a package resource `package.sub:folder` (Alembic imports the
/// package; we look for its folder next to the configuration, and in `src/`).
fn resolve_script_location(value: &str, here: &Path) -> PathBuf {
    let value = value.replace("%(here)s", &here.to_string_lossy());
    if let Some((package, folder)) = value.split_once(':') {
        let looks_like_package = !package.is_empty()
            && package
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if looks_like_package && !Path::new(&value).exists() {
            let relative: PathBuf = package.split('.').collect::<PathBuf>().join(folder);
            for base in [here.to_path_buf(), here.join("src")] {
                let candidate = base.join(&relative);
                if candidate.is_dir() {
                    return candidate;
                }
            }
            return here.join(relative);
        }
    }
    here.join(value)
}

/// Alembic's splitting of `version_locations`.
pub fn split_version_locations(
    value: &str,
    separator: Option<&str>,
) -> Result<Vec<String>, String> {
    let sep = match separator {
        None => None,
        Some("space") => Some(" "),
        Some("newline") => Some("\n"),
        Some("os") | Some(":") => Some(":"),
        Some(";") => Some(";"),
        Some(other) => {
            return Err(format!(
                "path_separator: `{other}` is not one of space, newline, os, ':', ';'"
            ))
        }
    };
    Ok(match sep {
        Some(sep) => value
            .split(sep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        // Legacy: `re.split(r", *|(?: +)", value)`.
        None => value
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Just enough of Python's `configparser` for `alembic.ini`: sections,
/// `key = value` / `key: value`, indented continuation lines, full-line `#`
/// and `;` comments, case-insensitive keys, `[DEFAULT]`, and
/// `%(name)s` / `%%` interpolation with `here` defined.
struct Ini {
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Ini {
    fn parse(text: &str) -> Ini {
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for raw in text.lines() {
            let trimmed = raw.trim();
            let indented = raw.starts_with([' ', '\t']);
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                if trimmed.is_empty() {
                    if let (Some(s), Some(k)) = (&section, &last_key) {
                        // Blank lines inside a multi-line value are kept.
                        if let Some(v) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                            v.push('\n');
                        }
                    }
                }
                continue;
            }
            if indented {
                if let (Some(s), Some(k)) = (&section, &last_key) {
                    if let Some(v) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                        v.push('\n');
                        v.push_str(trimmed);
                        continue;
                    }
                }
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                section = Some(name.to_owned());
                sections.entry(name.to_owned()).or_default();
                last_key = None;
                continue;
            }
            let Some(section_name) = &section else {
                continue;
            };
            let split = trimmed.find(['=', ':']);
            let (key, value) = match split {
                Some(i) => (trimmed[..i].trim(), trimmed[i + 1..].trim()),
                None => (trimmed, ""),
            };
            let key = key.to_lowercase();
            sections
                .entry(section_name.clone())
                .or_default()
                .insert(key.clone(), value.to_owned());
            last_key = Some(key);
        }
        for values in sections.values_mut() {
            for v in values.values_mut() {
                let trimmed = v.trim_end_matches('\n').to_owned();
                *v = trimmed;
            }
        }
        Ini { sections }
    }

    fn raw(&self, section: &str, key: &str) -> Option<&String> {
        self.sections
            .get(section)
            .and_then(|s| s.get(key))
            .or_else(|| self.sections.get("DEFAULT").and_then(|s| s.get(key)))
    }

    fn get(&self, section: &str, key: &str, here: &Path) -> Option<String> {
        let raw = self.raw(section, key)?;
        Some(self.interpolate(section, raw, here, 0))
    }

    fn interpolate(&self, section: &str, value: &str, here: &Path, depth: usize) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
            } else if let Some(end) = rest.strip_prefix("%(").and_then(|r| r.find(")s")) {
                let name = rest[2..2 + end].to_lowercase();
                let replacement = if name == "here" {
                    Some(here.to_string_lossy().into_owned())
                } else if depth < 10 {
                    self.raw(section, &name)
                        .map(|v| self.interpolate(section, v, here, depth + 1))
                } else {
                    None
                };
                match replacement {
                    Some(r) => out.push_str(&r),
                    None => out.push_str(&rest[..end + 4]),
                }
                rest = &rest[end + 4..];
            } else {
                out.push('%');
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// Alembic's file name filter `(?!\.\#|__init__)(.*\.py)$`.
pub fn is_revision_file_name(name: &str) -> bool {
    name.ends_with(".py") && !name.starts_with(".#") && !name.starts_with("__init__")
}

/// The whole stem is lowercase hex: Alembic takes the id from the name.
pub fn legacy_revision_from_name(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".py")?;
    (!stem.is_empty() && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some(stem)
}

/// A file of a version location, or the reason it could not be listed.
#[derive(Clone, Debug)]
pub enum Listed {
    File(PathBuf),
    Unreadable { path: PathBuf, reason: String },
}

/// The revision files of the project in Alembic's load order: each version
/// location in turn, files of a folder in code-point order, subfolders (when
/// recursive) after, sorted; `__pycache__` skipped; a file reached twice
/// (through a link) loaded once. Explicit files come last, in the given order.
pub fn list_files(spec: &ProjectSpec) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for location in &spec.version_locations {
        if !location.path.is_dir() {
            continue;
        }
        let mut todo = vec![location.path.clone()];
        while let Some(dir) = todo.pop() {
            if dir.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    out.push(Listed::Unreadable {
                        path: dir.clone(),
                        reason: io_reason(&e),
                    });
                    continue;
                }
            };
            let mut files = Vec::new();
            let mut dirs = Vec::new();
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
            files.sort();
            for path in files {
                // Alembic filters on the real file's name.
                let real = path.canonicalize().unwrap_or_else(|_| path.clone());
                let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !is_revision_file_name(name) || !seen.insert(real.clone()) {
                    continue;
                }
                // A FIFO, socket or device is never opened: reading a FIFO
                // blocks until something writes to it. A link counts as its
                // target; one that leads nowhere stays (reading reports why).
                if std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
                    continue;
                }
                out.push(Listed::File(path));
            }
            if location.recursive {
                dirs.sort();
                todo.extend(dirs.into_iter().rev());
            }
        }
    }
    for path in &spec.files {
        let real = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.insert(real) {
            out.push(Listed::File(path.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_matches_alembic() {
        assert!(is_revision_file_name("_x.py"));
        assert!(is_revision_file_name("1a2b_add.py"));
        assert!(!is_revision_file_name("__init__.py"));
        assert!(!is_revision_file_name(".#lock.py"));
        assert!(!is_revision_file_name("b.py.bak"));
        assert!(!is_revision_file_name("README"));
        assert_eq!(legacy_revision_from_name("bbbb0002.py"), Some("bbbb0002"));
        assert_eq!(legacy_revision_from_name("b_helper.py"), None);
        assert_eq!(legacy_revision_from_name("ABCD.py"), None);
    }

    #[test]
    fn version_locations_split_like_alembic() {
        assert_eq!(
            split_version_locations("a b,c, d", None).unwrap(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(
            split_version_locations("a b;c", Some(";")).unwrap(),
            ["a b", "c"]
        );
        assert_eq!(
            split_version_locations("a:b", Some("os")).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            split_version_locations("a\n b\n", Some("newline")).unwrap(),
            ["a", "b"]
        );
        assert!(split_version_locations("a", Some("comma")).is_err());
    }

    #[test]
    fn ini_interpolation_and_continuations() {
        let ini = Ini::parse(
            "[DEFAULT]\nbase = x\n[alembic]\n# comment\nScript_Location = %(here)s/mig\nversion_locations = %(base)s/v1\n    %(here)s/v2\npct = 100%%\n",
        );
        let here = Path::new("/proj");
        assert_eq!(
            ini.get("alembic", "script_location", here).unwrap(),
            "/proj/mig"
        );
        assert_eq!(
            ini.get("alembic", "version_locations", here).unwrap(),
            "x/v1\n/proj/v2"
        );
        assert_eq!(ini.get("alembic", "pct", here).unwrap(), "100%");
    }
}
