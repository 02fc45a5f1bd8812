//! The workspace index: the open documents, every Alembic project found in
//! the workspace folders, the files of each (read from disk, overridden by
//! open documents), their per-file findings cached by text and
//! configuration, and the latest analysis of each revision graph.
//!
//! Lock order: the workspace before the documents; the documents lock is
//! only ever held for short, non-blocking work (edits, lookups).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use rayon::prelude::*;
use tower_lsp::lsp_types::{TextDocumentContentChangeEvent, Url};

use super::document::{Document, VerifyJob};
use super::settings::ClientSettings;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::discovery::{self, Listed, ProjectSpec, VersionLocation};
use crate::graph::RevisionGraph;
use crate::migration::MigrationFile;
use crate::project::{self, FileInput, ProjectFile};

/// A mutex that survives a panic of a previous holder: the data is plain
/// state, and a dead server is worse than state from a failed request.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The key a file is known by: its folder canonicalized, so that the
/// client's path and the discovered one meet.
pub fn path_key(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => match parent.canonicalize() {
            Ok(parent) => parent.join(name),
            Err(_) => absolute,
        },
        _ => absolute,
    }
}

pub fn uri_path(uri: &Url) -> Option<PathBuf> {
    uri.to_file_path().ok().map(|p| path_key(&p))
}

pub fn path_uri(path: &Path) -> Option<Url> {
    Url::from_file_path(path).ok()
}

#[derive(Default)]
struct DocumentSet {
    by_uri: HashMap<Url, Document>,
    by_path: HashMap<PathBuf, Url>,
}

/// The open documents.
#[derive(Default)]
pub struct Documents {
    inner: Mutex<DocumentSet>,
}

impl Documents {
    pub fn open(&self, uri: Url, version: i32, text: &str) {
        let mut set = lock(&self.inner);
        if let Some(path) = uri_path(&uri) {
            set.by_path.insert(path, uri.clone());
        }
        set.by_uri.insert(uri, Document::new(version, text));
    }

    /// Applies a change; `false` when the document is not open.
    pub fn change(
        &self,
        uri: &Url,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> bool {
        match lock(&self.inner).by_uri.get_mut(uri) {
            Some(doc) => {
                doc.apply(version, changes);
                true
            }
            None => false,
        }
    }

    pub fn close(&self, uri: &Url) {
        let mut set = lock(&self.inner);
        set.by_uri.remove(uri);
        set.by_path.retain(|_, u| u != uri);
    }

    /// Path → URI of every open document with a file path.
    pub fn open_paths(&self) -> HashMap<PathBuf, Url> {
        lock(&self.inner).by_path.clone()
    }

    /// The model of the document's current text (parsed here, outside the
    /// lock, when the document changed since the last parse).
    pub fn source(&self, uri: &Url) -> Option<(i32, Arc<MigrationFile>)> {
        let job = {
            let set = lock(&self.inner);
            let doc = set.by_uri.get(uri)?;
            if let Some(parsed) = doc.parsed() {
                return Some((doc.version, parsed));
            }
            doc.parse_job()
        };
        let result = job.run();
        // Edits that arrived meanwhile are not in this model: it answers for
        // the version it was parsed from, and their events bring a new parse.
        if let Some(doc) = lock(&self.inner).by_uri.get_mut(uri) {
            doc.store(&result);
        }
        Some((result.version, result.migration))
    }

    /// Whether an open document's model was speculated and waits for its
    /// real text to be parsed ([`Documents::verify`]).
    pub fn unverified(&self) -> bool {
        lock(&self.inner).by_uri.values().any(Document::unverified)
    }

    /// Parses the real text of every speculated model (outside the lock),
    /// until `stop` says an editor event waits; returns the documents whose
    /// model changed (their real text parses after all).
    pub fn verify(&self, stop: &dyn Fn() -> bool) -> Vec<Url> {
        let jobs: Vec<(Url, VerifyJob)> = lock(&self.inner)
            .by_uri
            .iter_mut()
            .filter_map(|(uri, doc)| Some((uri.clone(), doc.verify_job()?)))
            .collect();
        let mut changed = Vec::new();
        let mut given_up = false;
        for (uri, job) in jobs {
            // Once one is given up, the others are handed back untried.
            let verified = job.run(&|| given_up || stop());
            given_up = verified.given_up();
            if let Some(doc) = lock(&self.inner).by_uri.get_mut(&uri) {
                if doc.store_verified(verified) {
                    changed.push(uri);
                }
            }
        }
        changed
    }
}

type Stamp = (SystemTime, u64);

/// A file's own findings, shared between snapshots.
type Findings = Arc<Vec<Diagnostic>>;

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

struct DiskFile {
    stamp: Option<Stamp>,
    file: ProjectFile,
}

struct Cached {
    source: Arc<MigrationFile>,
    config: Arc<Config>,
    diagnostics: Arc<Vec<Diagnostic>>,
}

/// What names a file: made once per file, shared by every snapshot.
pub struct FileName {
    pub path: PathBuf,
    pub uri: Url,
    /// The path as messages show it, relative to the project's root.
    pub display: String,
}

/// One file of an analysed graph.
#[derive(Clone)]
pub struct SnapshotFile {
    pub name: Arc<FileName>,
    /// The document version, when the text came from an open document.
    pub version: Option<i32>,
    pub source: Arc<MigrationFile>,
    pub read_error: Option<String>,
}

/// The analysis of one graph at one moment.
pub struct Snapshot {
    /// The project it is of ([`ProjectState::id`]).
    pub project: u64,
    pub files: Vec<SnapshotFile>,
    pub index: Arc<HashMap<PathBuf, usize>>,
    /// The files whose text came from open documents.
    open_files: Vec<usize>,
    pub graph: Arc<RevisionGraph>,
    /// The graph rules' findings, per file.
    graph_findings: Arc<Vec<Vec<Diagnostic>>>,
    /// Each file's own findings (without the graph's).
    own_findings: Vec<Arc<Vec<Diagnostic>>>,
    /// Both, merged: what is published. Shared with the previous snapshot
    /// for the files that did not change.
    pub diagnostics: Vec<Arc<Vec<Diagnostic>>>,
    pub config: Arc<Config>,
}

impl Snapshot {
    pub fn file_of(&self, path: &Path) -> Option<usize> {
        self.index.get(path).copied()
    }

    /// The revision a name designates: an id, else a branch label.
    pub fn resolve(&self, name: &str) -> Option<usize> {
        self.graph.by_id.get(name).copied().or_else(|| {
            self.graph.revisions.iter().position(|r| {
                r.input
                    .branch_labels
                    .iter()
                    .flatten()
                    .any(|l| l.value == name)
            })
        })
    }
}

/// One Alembic project (one revision graph).
pub struct ProjectState {
    /// Unique for the life of the server.
    pub id: u64,
    pub spec: ProjectSpec,
    /// Where relative paths start: the folder of `alembic.ini`, else the workspace folder.
    pub root: PathBuf,
    pub config: Arc<Config>,
    listing: Vec<PathBuf>,
    listed: HashSet<PathBuf>,
    disk: HashMap<PathBuf, DiskFile>,
    cache: HashMap<PathBuf, Cached>,
    /// Each file's URI and display path.
    names: HashMap<PathBuf, Arc<FileName>>,
    dir_stamps: Vec<(PathBuf, Option<SystemTime>)>,
    config_stamps: Vec<(PathBuf, Option<Stamp>)>,
    pub snapshot: Option<Arc<Snapshot>>,
    /// Something besides the open documents changed since the snapshot
    /// (disk, configuration).
    stale: bool,
    /// Files read for their declarations only, whose rules have not run yet
    /// (the index's second stage, [`ProjectState::check_pending`]).
    pending: Vec<PathBuf>,
    /// Files checked by the second stage since the snapshot: the next
    /// analysis takes their new models and findings and reuses the rest.
    checked_since: Vec<PathBuf>,
}

/// The folders and file names whose change means "read the configuration again".
pub fn is_config_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("alembic.ini" | "pyproject.toml" | "alembic-lsp.toml")
    )
}

/// The configuration for a project root: the file (a bad one is reported
/// and replaced by defaults), plus the editor's settings.
pub fn load_config(root: &Path, settings: &ClientSettings) -> (Config, Vec<String>) {
    let mut warnings = Vec::new();
    let base = match Config::discover(root) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!(
                "{e} — using the default settings until it is fixed"
            ));
            Config::default()
        }
    };
    let mut config = base.clone();
    match settings.apply(&mut config) {
        Ok(()) => (config, warnings),
        Err(e) => {
            warnings.push(format!(
                "{e} — the editor settings are ignored until they are fixed"
            ));
            (base, warnings)
        }
    }
}

/// Whether a file is named by the spec or would be listed from its version
/// locations (for files not on disk yet, or not listed yet).
pub fn spec_contains(spec: &ProjectSpec, path: &Path) -> bool {
    if spec.files.iter().any(|f| f == path) {
        return true;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !discovery::is_revision_file_name(name) {
        return false;
    }
    let Some(parent) = path.parent() else {
        return false;
    };
    spec.version_locations.iter().any(
        |VersionLocation {
             path: dir,
             recursive,
         }| {
            parent == dir
                || (*recursive
                    && parent.starts_with(dir)
                    && !parent.components().any(|c| c.as_os_str() == "__pycache__"))
        },
    )
}

/// Makes a spec's paths canonical, so they meet the client's paths.
pub fn canonical_spec(mut spec: ProjectSpec) -> ProjectSpec {
    for location in &mut spec.version_locations {
        if let Ok(p) = location.path.canonicalize() {
            location.path = p;
        }
    }
    spec.files = spec.files.iter().map(|f| path_key(f)).collect();
    spec
}

impl ProjectState {
    /// Creates the project and reads all its files (in parallel).
    pub fn load(
        spec: ProjectSpec,
        fallback_root: &Path,
        settings: &ClientSettings,
    ) -> (ProjectState, Vec<String>) {
        let spec = canonical_spec(spec);
        let root = spec
            .config_file
            .as_ref()
            .and_then(|c| c.parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| fallback_root.to_path_buf());
        let (config, warnings) = load_config(&root, settings);
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let mut project = ProjectState {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            spec,
            root,
            config: Arc::new(config),
            listing: Vec::new(),
            listed: HashSet::new(),
            disk: HashMap::new(),
            cache: HashMap::new(),
            names: HashMap::new(),
            dir_stamps: Vec::new(),
            config_stamps: Vec::new(),
            snapshot: None,
            stale: true,
            pending: Vec::new(),
            checked_since: Vec::new(),
        };
        project.config_stamps = project.watched_config_files();
        project.read_listing(true, true);
        (project, warnings)
    }

    /// How many files still wait for their per-file rules.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The index's second stage: reads up to `max` files read for their
    /// declarations only again, fully, and runs their rules. Once `stop`
    /// says so (an editor event waits), files not started yet go back to the
    /// queue, so an edit waits for one file per core, not the whole chunk;
    /// the first file is always checked, so the checks always progress.
    /// Returns how many it checked.
    pub fn check_pending(&mut self, max: usize, stop: &(dyn Fn() -> bool + Sync)) -> usize {
        let take = self.pending.len().min(max);
        let batch: Vec<PathBuf> = self.pending.drain(..take).collect();
        // Only files still listed whose model is still the partial one.
        let batch: Vec<PathBuf> = batch
            .into_iter()
            .filter(|p| self.disk.get(p).is_some_and(|d| d.file.migration.partial))
            .collect();
        let config = &self.config;
        type Checked = (PathBuf, DiskFile, Arc<Vec<Diagnostic>>);
        let read: Vec<Result<Checked, PathBuf>> = batch
            .into_par_iter()
            .enumerate()
            .map(|(i, path)| {
                if i > 0 && stop() {
                    return Err(path);
                }
                let stamp = stamp(&path);
                let (file, findings) = read_checked(&path, config);
                Ok((path, DiskFile { stamp, file }, findings))
            })
            .collect();
        let mut checked = 0;
        let mut skipped = Vec::new();
        for result in read {
            match result {
                Ok((path, disk, findings)) => {
                    self.remember(&path, &disk, findings);
                    self.disk.insert(path.clone(), disk);
                    self.checked_since.push(path);
                    checked += 1;
                }
                Err(path) => skipped.push(path),
            }
        }
        self.pending.splice(0..0, skipped);
        checked
    }

    pub fn file_count(&self) -> usize {
        self.listing.len()
    }

    fn watched_config_files(&self) -> Vec<(PathBuf, Option<Stamp>)> {
        let mut files: Vec<PathBuf> = self.spec.config_file.iter().cloned().collect();
        files.push(self.root.join("alembic-lsp.toml"));
        files.push(self.root.join("pyproject.toml"));
        if let Some(found) = crate::config::find_config_file(&self.root) {
            files.push(found);
        }
        files.sort();
        files.dedup();
        files
            .into_iter()
            .map(|p| {
                let s = stamp(&p);
                (p, s)
            })
            .collect()
    }

    /// Whether a configuration file of this project changed on disk.
    pub fn config_changed(&self) -> bool {
        self.config_stamps.iter().any(|(p, s)| stamp(p) != *s)
            || self.watched_config_files() != self.config_stamps
    }

    /// Reads the configuration (and, for `alembic.ini` / `pyproject.toml`,
    /// the version locations) again.
    pub fn reload_config(&mut self, settings: &ClientSettings) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(file) = self.spec.config_file.clone() {
            let reread = if file.file_name().is_some_and(|n| n == "alembic.ini") {
                discovery::read_alembic_ini(&file)
            } else {
                discovery::read_pyproject(&file)
            };
            match reread {
                Ok(Some(spec)) => self.spec = canonical_spec(spec),
                Ok(None) => {}
                Err(e) => warnings.push(e.to_string()),
            }
        }
        let (config, more) = load_config(&self.root, settings);
        warnings.extend(more);
        self.config = Arc::new(config);
        self.config_stamps = self.watched_config_files();
        self.scan(true);
        self.stale = true;
        warnings
    }

    /// Applies new editor settings to the file's configuration.
    pub fn apply_settings(&mut self, settings: &ClientSettings) -> Vec<String> {
        let (config, warnings) = load_config(&self.root, settings);
        self.config = Arc::new(config);
        self.stale = true;
        warnings
    }

    /// Whether `path` is (or would be) a revision of this project.
    pub fn contains(&self, path: &Path) -> bool {
        self.listed.contains(path) || spec_contains(&self.spec, path)
    }

    fn current_dir_stamps(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        let mut dirs: Vec<PathBuf> = self
            .spec
            .version_locations
            .iter()
            .map(|l| l.path.clone())
            .collect();
        if self.spec.version_locations.iter().any(|l| l.recursive) {
            dirs.extend(
                self.listing
                    .iter()
                    .filter_map(|p| p.parent().map(Path::to_path_buf)),
            );
        }
        dirs.sort();
        dirs.dedup();
        dirs.into_iter()
            .map(|d| {
                let m = std::fs::metadata(&d).ok().and_then(|m| m.modified().ok());
                (d, m)
            })
            .collect()
    }

    /// Picks up files added, removed or changed on disk. `full` stats every
    /// file; otherwise only the folders are checked (a new or deleted file
    /// changes its folder's modification time). Returns whether anything changed.
    pub fn scan(&mut self, full: bool) -> bool {
        self.read_listing(full, false)
    }

    /// [`ProjectState::scan`]; `declarations_first` reads new files for
    /// their declarations only and queues their rules (the first index).
    fn read_listing(&mut self, full: bool, declarations_first: bool) -> bool {
        let dirs_changed =
            self.dir_stamps.is_empty() || self.current_dir_stamps() != self.dir_stamps;
        if !full && !dirs_changed {
            return false;
        }
        let mut changed = false;
        if dirs_changed || full {
            let listing: Vec<(PathBuf, Option<String>)> = discovery::list_files(&self.spec)
                .into_iter()
                .map(|l| match l {
                    Listed::File(p) => (p, None),
                    Listed::Unreadable { path, reason } => (path, Some(reason)),
                })
                .collect();
            let paths: Vec<PathBuf> = listing.iter().map(|(p, _)| p.clone()).collect();
            if paths != self.listing {
                changed = true;
                self.listing = paths;
                self.listed = self.listing.iter().cloned().collect();
                let listed = &self.listed;
                self.disk.retain(|p, _| listed.contains(p));
                self.cache.retain(|p, _| listed.contains(p));
                self.names.retain(|p, _| listed.contains(p));
            }
            let unreadable: Vec<(PathBuf, String)> = listing
                .into_iter()
                .filter_map(|(p, r)| r.map(|r| (p, r)))
                .collect();
            for (path, reason) in unreadable {
                self.disk.insert(
                    path.clone(),
                    DiskFile {
                        stamp: None,
                        file: ProjectFile::unreadable(&path, reason),
                    },
                );
            }
            self.dir_stamps = self.current_dir_stamps();
        }
        let stale: Vec<(PathBuf, Option<Stamp>)> = self
            .listing
            .par_iter()
            .filter_map(|p| {
                let now = stamp(p);
                match self.disk.get(p) {
                    Some(d)
                        if d.stamp == now && (d.stamp.is_some() || d.file.read_error.is_some()) =>
                    {
                        None
                    }
                    _ => Some((p.clone(), now)),
                }
            })
            .collect();
        if !stale.is_empty() {
            changed = true;
            let config = &self.config;
            let read: Vec<(PathBuf, DiskFile, Option<Findings>)> = stale
                .into_par_iter()
                .map(|(path, stamp)| {
                    if declarations_first {
                        let file = ProjectFile::read_declarations(&path);
                        return (path, DiskFile { stamp, file }, None);
                    }
                    let (file, findings) = read_checked(&path, config);
                    (path, DiskFile { stamp, file }, Some(findings))
                })
                .collect();
            for (path, disk, findings) in read {
                match findings {
                    Some(findings) => self.remember(&path, &disk, findings),
                    None if disk.file.migration.partial => self.pending.push(path.clone()),
                    None => {}
                }
                self.disk.insert(path, disk);
            }
        }
        self.stale |= changed;
        changed
    }

    /// Caches the findings of a file just read, for its model and the
    /// current configuration.
    fn remember(&mut self, path: &Path, disk: &DiskFile, findings: Arc<Vec<Diagnostic>>) {
        self.cache.insert(
            path.to_path_buf(),
            Cached {
                source: disk.file.migration.clone(),
                config: self.config.clone(),
                diagnostics: findings,
            },
        );
    }

    /// Re-reads one file from disk (a watched-file event).
    pub fn reload_file(&mut self, path: &Path) {
        if self.listed.contains(path) {
            self.stale = true;
            let (file, findings) = read_checked(path, &self.config);
            let disk = DiskFile {
                stamp: stamp(path),
                file,
            };
            self.remember(path, &disk, findings);
            self.disk.insert(path.to_path_buf(), disk);
        }
    }

    /// The latest analysis, redone first if an open document of this project
    /// changed since (requests must answer about the text the editor has).
    pub fn fresh_snapshot(&mut self, docs: &Documents) -> Arc<Snapshot> {
        let open = docs.open_paths();
        let outdated = self.stale || !self.checked_since.is_empty();
        if let Some(previous) = self.snapshot.clone().filter(|_| !outdated) {
            if let Some(open_files) = self.same_open_files(&previous, &open) {
                let current = open_files.iter().all(|&(i, ref uri)| {
                    docs.source(uri)
                        .is_some_and(|(_, source)| Arc::ptr_eq(&source, &previous.files[i].source))
                });
                if current {
                    return previous;
                }
            }
        }
        self.analyze(docs, &open)
    }

    /// The open documents of this project, by index into `previous`, when
    /// they are the ones `previous` read (else `None`).
    fn same_open_files(
        &self,
        previous: &Snapshot,
        open: &HashMap<PathBuf, Url>,
    ) -> Option<Vec<(usize, Url)>> {
        let mut found = Vec::new();
        for (path, uri) in open {
            if !self.contains(path) {
                continue;
            }
            let i = previous.file_of(path)?;
            // A file read from disk last time: the set of open documents changed.
            previous.files[i].version?;
            found.push((i, uri.clone()));
        }
        (found.len() == previous.open_files.len()).then_some(found)
    }

    /// Analyses the graph: per-file findings are reused for unchanged texts,
    /// and the graph for unchanged declarations.
    pub fn analyze(&mut self, docs: &Documents, open: &HashMap<PathBuf, Url>) -> Arc<Snapshot> {
        // The last analysis: what it computed is reused wherever its inputs
        // are the same objects (files, texts, configuration), even when the
        // disk changed since.
        let previous = self.snapshot.clone();
        // Fast path (a keystroke): the same files, only open documents
        // changed; `changed` lists the files whose text is new.
        // Files the second stage checked since count as changed too.
        let checked_since = std::mem::take(&mut self.checked_since);
        let reused = previous.as_ref().filter(|_| !self.stale).and_then(|p| {
            let open_files = self.same_open_files(p, open)?;
            let mut files = p.files.clone();
            let mut changed = Vec::new();
            for (i, uri) in open_files {
                let (version, source) = docs.source(&uri)?;
                if !Arc::ptr_eq(&files[i].source, &source) {
                    changed.push(i);
                }
                files[i].version = Some(version);
                files[i].source = source;
            }
            for path in &checked_since {
                let i = p.file_of(path)?;
                let disk = self.disk.get(path)?;
                if files[i].version.is_some() || Arc::ptr_eq(&files[i].source, &disk.file.migration)
                {
                    continue;
                }
                files[i].source = disk.file.migration.clone();
                files[i].read_error = disk.file.read_error.clone();
                changed.push(i);
            }
            Some((files, changed))
        });
        let (files, changed) = match reused {
            Some((files, changed)) => (files, Some(changed)),
            None => (self.collect_files(docs, open), None),
        };
        let same_files = previous.as_ref().filter(|p| {
            p.files.len() == files.len()
                && p.files
                    .iter()
                    .zip(&files)
                    .all(|(a, b)| Arc::ptr_eq(&a.name, &b.name))
        });

        let config = self.config.clone();
        // Only the changed files are looked at when the rest is known to be
        // as before (10,000 files per keystroke otherwise).
        let changed =
            changed.filter(|_| same_files.is_some_and(|p| Arc::ptr_eq(&p.config, &config)));
        let cache = &self.cache;
        let none_yet: Arc<Vec<Diagnostic>> = Arc::new(Vec::new());
        let own_of = |i: usize| -> Arc<Vec<Diagnostic>> {
            let f = &files[i];
            if f.source.partial {
                // Its rules run in the index's second stage.
                return none_yet.clone();
            }
            if let Some(p) = same_files {
                if Arc::ptr_eq(&p.files[i].source, &f.source) && Arc::ptr_eq(&p.config, &config) {
                    return p.own_findings[i].clone();
                }
            }
            if let Some(c) = cache.get(&f.name.path) {
                if Arc::ptr_eq(&c.source, &f.source) && Arc::ptr_eq(&c.config, &config) {
                    return c.diagnostics.clone();
                }
            }
            Arc::new(project::file_diagnostics(&file_input(f), &config))
        };
        let own_findings: Vec<Arc<Vec<Diagnostic>>> = match (same_files, &changed) {
            (Some(p), Some(changed)) => {
                let mut own = p.own_findings.clone();
                for &i in changed {
                    own[i] = own_of(i);
                }
                own
            }
            _ => (0..files.len()).into_par_iter().map(own_of).collect(),
        };
        let visit: Vec<usize> = match &changed {
            Some(changed) => changed.clone(),
            None => (0..files.len()).collect(),
        };
        for i in visit.iter().copied() {
            let (f, diagnostics) = (&files[i], &own_findings[i]);
            if f.source.partial {
                continue;
            }
            if same_files.is_some_and(|p| Arc::ptr_eq(&p.own_findings[i], diagnostics)) {
                continue;
            }
            let known = self
                .cache
                .get(&f.name.path)
                .is_some_and(|c| Arc::ptr_eq(&c.diagnostics, diagnostics));
            if !known {
                self.cache.insert(
                    f.name.path.clone(),
                    Cached {
                        source: f.source.clone(),
                        config: config.clone(),
                        diagnostics: diagnostics.clone(),
                    },
                );
            }
        }

        let (index, graph, graph_findings) = match same_files {
            Some(p)
                if Arc::ptr_eq(&p.config, &config)
                    && same_graph_inputs(p, &files, changed.as_deref()) =>
            {
                (p.index.clone(), p.graph.clone(), p.graph_findings.clone())
            }
            _ => {
                let inputs: Vec<FileInput> = files.iter().map(file_input).collect();
                // Declarations that only moved (a line typed above them)
                // keep the graph; its findings are found again, at the new
                // positions.
                let moved = same_files.zip(changed.as_deref()).and_then(|(p, changed)| {
                    let pairs: Vec<_> = changed
                        .iter()
                        .map(|&i| (i, file_input(&p.files[i]), file_input(&files[i])))
                        .collect();
                    project::moved_graph(&p.graph, &pairs)
                });
                let graph = moved.unwrap_or_else(|| project::build_graph(&inputs));
                let mut findings = vec![Vec::new(); files.len()];
                for (file, d) in project::graph_diagnostics(&graph, &inputs, &config) {
                    if let Some(list) = findings.get_mut(file) {
                        list.push(d);
                    }
                }
                let index = match same_files {
                    Some(p) => p.index.clone(),
                    None => Arc::new(
                        files
                            .iter()
                            .enumerate()
                            .map(|(i, f)| (f.name.path.clone(), i))
                            .collect(),
                    ),
                };
                (index, Arc::new(graph), Arc::new(findings))
            }
        };
        let graph_same =
            same_files.is_some_and(|p| Arc::ptr_eq(&p.graph_findings, &graph_findings));
        let merged_of = |i: usize| -> Arc<Vec<Diagnostic>> {
            let own = &own_findings[i];
            if let Some(p) = same_files {
                // A rebuilt graph mostly finds what it found before.
                if Arc::ptr_eq(&p.own_findings[i], own)
                    && (graph_same || p.graph_findings[i] == graph_findings[i])
                {
                    return p.diagnostics[i].clone();
                }
            }
            if graph_findings[i].is_empty() {
                return own.clone();
            }
            let graph = graph_findings[i].iter().map(|d| (0, d.clone())).collect();
            let merged = project::merge_diagnostics(vec![own.as_ref().clone()], graph);
            Arc::new(merged.into_iter().next().unwrap_or_default())
        };
        let merged: Vec<Arc<Vec<Diagnostic>>> = match (same_files, &changed) {
            (Some(p), Some(changed)) if graph_same => {
                let mut merged = p.diagnostics.clone();
                for &i in changed {
                    merged[i] = merged_of(i);
                }
                merged
            }
            _ => (0..files.len()).map(merged_of).collect(),
        };
        let open_files = match (same_files, &changed) {
            (Some(p), Some(_)) => p.open_files.clone(),
            _ => (0..files.len())
                .filter(|&i| files[i].version.is_some())
                .collect(),
        };
        let snapshot = Arc::new(Snapshot {
            project: self.id,
            files,
            index,
            open_files,
            graph,
            graph_findings,
            own_findings,
            diagnostics: merged,
            config,
        });
        self.snapshot = Some(snapshot.clone());
        self.stale = false;
        if let Some(previous) = previous {
            drop_elsewhere(previous);
        }
        snapshot
    }

    /// Every file of the project, in Alembic's order, then open documents
    /// not on disk yet: from the open document if any, else from disk.
    fn collect_files(
        &mut self,
        docs: &Documents,
        open: &HashMap<PathBuf, Url>,
    ) -> Vec<SnapshotFile> {
        let mut paths = self.listing.clone();
        let mut extra: Vec<&PathBuf> = open
            .keys()
            .filter(|p| !self.listed.contains(*p) && self.contains(p))
            .collect();
        extra.sort();
        paths.extend(extra.into_iter().cloned());
        let root = &self.root;
        let names = &mut self.names;
        let disk = &mut self.disk;
        paths
            .into_iter()
            .map(|path| {
                let name = match names.get(&path) {
                    Some(name) => name.clone(),
                    None => names
                        .entry(path.clone())
                        .or_insert_with(|| {
                            Arc::new(FileName {
                                uri: path_uri(&path)
                                    .unwrap_or_else(|| Url::parse("file:///").expect("valid")),
                                display: path
                                    .strip_prefix(root)
                                    .unwrap_or(&path)
                                    .to_string_lossy()
                                    .into_owned(),
                                path: path.clone(),
                            })
                        })
                        .clone(),
                };
                if let Some((uri, (version, source))) = open
                    .get(&path)
                    .and_then(|uri| docs.source(uri).map(|s| (uri, s)))
                {
                    // The client's URI, in case it spells the path differently.
                    let name = if *uri == name.uri {
                        name
                    } else {
                        Arc::new(FileName {
                            uri: uri.clone(),
                            path: name.path.clone(),
                            display: name.display.clone(),
                        })
                    };
                    return SnapshotFile {
                        name,
                        version: Some(version),
                        source,
                        read_error: None,
                    };
                }
                if !disk.contains_key(&path) {
                    let file = DiskFile {
                        stamp: stamp(&path),
                        file: ProjectFile::read(&path),
                    };
                    disk.insert(path.clone(), file);
                }
                let disk = &disk[&path];
                SnapshotFile {
                    name,
                    version: None,
                    source: disk.file.migration.clone(),
                    read_error: disk.file.read_error.clone(),
                }
            })
            .collect()
    }
}

/// Reads a file, runs its per-file rules and frees what only they read:
/// 10,000 unopened files then keep their text and declarations, not every
/// operation's arguments (a released model is parsed again if its findings
/// are needed for another configuration).
fn read_checked(path: &Path, config: &Config) -> (ProjectFile, Arc<Vec<Diagnostic>>) {
    let (file, findings) = ProjectFile::read(path).checked(config);
    (file, Arc::new(findings))
}

/// Whether the graph of `previous` is the graph of `files` (same paths):
/// every changed text declares the same four variables, ranges included, so
/// the graph and its findings can be reused — typing in `upgrade()` of one
/// file in a 10,000-revision project does not rebuild the graph.
fn same_graph_inputs(
    previous: &Snapshot,
    files: &[SnapshotFile],
    changed: Option<&[usize]>,
) -> bool {
    let same = |(old, new): (&SnapshotFile, &SnapshotFile)| {
        if Arc::ptr_eq(&old.source, &new.source) {
            return old.read_error == new.read_error;
        }
        let (a, b) = (&old.source, &new.source);
        old.read_error == new.read_error
            && a.revision == b.revision
            && a.down_revision == b.down_revision
            && a.depends_on == b.depends_on
            && a.branch_labels == b.branch_labels
    };
    match changed {
        // The other files are the previous snapshot's, text and all.
        Some(changed) => changed
            .iter()
            .all(|&i| same((&previous.files[i], &files[i]))),
        None => previous.files.iter().zip(files).all(same),
    }
}

fn file_input(f: &SnapshotFile) -> FileInput<'_> {
    FileInput {
        name: f
            .name
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(""),
        display: f.name.display.clone(),
        migration: &f.source,
        read_error: f.read_error.as_deref(),
    }
}

/// Folders never searched for Alembic configurations.
const SKIPPED_DIRS: [&str; 8] = [
    "node_modules",
    "__pycache__",
    "site-packages",
    "venv",
    "target",
    "dist",
    "build",
    "env",
];

/// How deep below a workspace folder `alembic.ini` files are looked for.
const DISCOVERY_DEPTH: usize = 4;

/// Every Alembic project of a workspace folder: `[tool.alembic-lsp] paths`
/// when configured, else each `alembic.ini` / `pyproject.toml`
/// `[tool.alembic]` in the folder or a few levels below, else the nearest
/// one above it.
pub fn discover_projects(folder: &Path) -> (Vec<ProjectSpec>, Vec<String>) {
    let mut warnings = Vec::new();
    if let Ok(config) = Config::discover(folder) {
        if !config.paths.is_empty() {
            return match discovery::from_paths(&config.paths) {
                Ok(mut spec) => {
                    spec.config_file = spec.config_file.or(config.source);
                    (vec![spec], warnings)
                }
                Err(e) => {
                    warnings.push(format!(
                        "paths in {}: {e}",
                        config
                            .source
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ));
                    (Vec::new(), warnings)
                }
            };
        }
    }
    let mut specs = Vec::new();
    let mut todo = vec![(folder.to_path_buf(), 0)];
    while let Some((dir, depth)) = todo.pop() {
        match discovery::specs_in(&dir) {
            Ok(found) => specs.extend(found),
            Err(e) => warnings.push(e.to_string()),
        }
        if depth >= DISCOVERY_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                !name.starts_with('.') && !SKIPPED_DIRS.contains(&name)
            })
            .collect();
        subdirs.sort();
        todo.extend(subdirs.into_iter().rev().map(|d| (d, depth + 1)));
    }
    if specs.is_empty() {
        if let Ok(found) = discovery::discover(folder) {
            specs = found;
        }
    }
    (specs, warnings)
}

/// Every project of the workspace, and the editor's settings.
#[derive(Default)]
pub struct Workspace {
    pub folders: Vec<PathBuf>,
    pub settings: ClientSettings,
    pub projects: Vec<ProjectState>,
}

impl Workspace {
    pub fn projects_containing(&self, path: &Path) -> Vec<usize> {
        (0..self.projects.len())
            .filter(|&i| self.projects[i].contains(path))
            .collect()
    }

    /// Adds a project unless one with the same version locations exists.
    pub fn add(&mut self, project: ProjectState) -> Option<usize> {
        let same = |p: &ProjectState| {
            p.spec.version_locations == project.spec.version_locations
                && p.spec.files == project.spec.files
        };
        if self.projects.iter().any(same) {
            return None;
        }
        self.projects.push(project);
        Some(self.projects.len() - 1)
    }

    /// The project that owns a path (the first that contains it).
    pub fn owner(&self, path: &Path) -> Option<usize> {
        self.projects.iter().position(|p| p.contains(path))
    }
}

/// Frees `value` on a thread of its own: dropping the last analysis (10,000
/// files' entries) is not on the way from a keystroke to its diagnostics. The
/// thread sleeps on its channel (a rayon worker would spin beside the
/// analysis).
fn drop_elsewhere<T: Send + 'static>(value: T) {
    use std::sync::mpsc::{channel, Sender};
    use std::sync::OnceLock;
    type Garbage = Box<dyn Send>;
    static BIN: OnceLock<Mutex<Option<Sender<Garbage>>>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let (send, receive) = channel::<Garbage>();
        let started = std::thread::Builder::new()
            .name("alembic-lsp-free".into())
            .spawn(move || while receive.recv().is_ok() {});
        Mutex::new(started.ok().map(|_| send))
    });
    let value: Garbage = Box::new(value);
    let rejected = match bin.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(send) => send.send(value).err().map(|e| e.0),
        None => Some(value),
    };
    drop(rejected);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A project (`alembic.ini` and `mig/versions/NAME`) loaded as the server
    /// loads it: the temporary folder, the versions folder, the project.
    fn project_with(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, ProjectState) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(
            &root.join("alembic.ini"),
            "[alembic]\nscript_location = %(here)s/mig\n",
        );
        let versions = root.join("mig/versions");
        for (name, text) in files {
            write(&versions.join(name), text);
        }
        let (specs, warnings) = discover_projects(&root);
        assert!(warnings.is_empty(), "{warnings:?}");
        let (project, _) = ProjectState::load(
            specs.into_iter().next().unwrap(),
            &root,
            &ClientSettings::default(),
        );
        (dir, versions, project)
    }

    #[test]
    fn open_documents_override_disk_and_the_cache_follows_the_text() {
        let (_dir, versions, mut project) = project_with(&[
            (
                "a.py",
                "revision = 'a'\ndown_revision = None\ndef upgrade():\n    pass  # empty: allow\n",
            ),
            (
                "b.py",
                "revision = 'b'\ndown_revision = 'a'\ndef upgrade():\n    pass  # empty: allow\n",
            ),
        ]);
        let docs = Documents::default();
        let snapshot = project.fresh_snapshot(&docs);
        assert_eq!(snapshot.graph.heads.len(), 1);
        assert!(snapshot.diagnostics.iter().all(|d| d.is_empty()));

        let uri = path_uri(&versions.join("c.py")).unwrap();
        docs.open(
            uri.clone(),
            1,
            "revision = 'c'\ndown_revision = 'a'\ndef upgrade():\n    pass\n",
        );
        let snapshot = project.fresh_snapshot(&docs);
        assert_eq!(snapshot.graph.heads.len(), 2);
        let c = snapshot.file_of(&versions.join("c.py")).unwrap();
        assert_eq!(snapshot.files[c].version, Some(1));
        assert!(snapshot.diagnostics[c]
            .iter()
            .any(|d| d.rule.code == "MG201"));
        // Unchanged: the same snapshot.
        assert!(Arc::ptr_eq(&snapshot, &project.fresh_snapshot(&docs)));
        docs.close(&uri);
        assert_eq!(project.fresh_snapshot(&docs).graph.heads.len(), 1);
    }

    /// A waiting editor event stops a chunk of background checks after the
    /// files already started (always at least one); the others keep their
    /// place in the queue.
    #[test]
    fn background_checks_give_way_to_the_editor() {
        let file = |id: &str, down: &str| {
            format!("revision = '{id}'\ndown_revision = {down}\ndef upgrade():\n    pass  # empty: allow\n")
        };
        let (_dir, _versions, mut project) = project_with(&[
            ("a.py", &file("a", "None")),
            ("b.py", &file("b", "'a'")),
            ("c.py", &file("c", "'b'")),
        ]);
        project.fresh_snapshot(&Documents::default());
        assert_eq!(project.pending_count(), 3);
        let queued = project.pending.clone();
        assert_eq!(project.check_pending(8, &|| true), 1);
        assert_eq!(project.pending, queued[1..]);
        assert_eq!(project.check_pending(8, &|| false), 2);
        assert_eq!(project.pending_count(), 0);
    }

    /// Unopened files keep no operations; their findings survive a document
    /// opened and closed over them and a new configuration (parsed again).
    #[test]
    fn released_models_are_parsed_again_when_their_findings_are_needed() {
        let text = "from alembic import op\nrevision = 'a'\ndown_revision = None\n\
                    def upgrade():\n    op.drop_table('users')\n\
                    def downgrade():\n    pass  # empty: allow\n";
        let (_dir, versions, mut project) = project_with(&[("a.py", text)]);
        let path = versions.join("a.py");
        let docs = Documents::default();
        let codes = |snapshot: &Snapshot| -> Vec<&str> {
            snapshot.diagnostics[0]
                .iter()
                .map(|d| d.rule.code)
                .collect()
        };
        // The index's first stage: declarations only, no findings yet.
        let snapshot = project.fresh_snapshot(&docs);
        assert!(snapshot.files[0].source.partial);
        assert_eq!(snapshot.graph.heads.len(), 1);
        assert!(codes(&snapshot).is_empty(), "{:?}", codes(&snapshot));
        assert_eq!(project.pending_count(), 1);
        // The second stage: checked, then released; the analysis after it
        // takes the checked file's model and keeps the graph.
        let first = snapshot;
        assert_eq!(project.check_pending(usize::MAX, &|| false), 1);
        assert_eq!(project.pending_count(), 0);
        let snapshot = project.fresh_snapshot(&docs);
        assert!(Arc::ptr_eq(&snapshot.graph, &first.graph));
        assert!(!snapshot.files[0].source.partial);
        assert!(snapshot.files[0].source.released);
        assert!(snapshot.files[0].source.ops.is_empty());
        assert!(
            codes(&snapshot).contains(&"MG101"),
            "{:?}",
            codes(&snapshot)
        );

        let uri = path_uri(&path).unwrap();
        docs.open(uri.clone(), 1, text);
        assert!(codes(&project.fresh_snapshot(&docs)).contains(&"MG101"));
        docs.close(&uri);
        let snapshot = project.fresh_snapshot(&docs);
        assert!(snapshot.files[0].source.released);
        assert!(codes(&snapshot).contains(&"MG101"), "after close");

        project.config = Arc::new((*project.config).clone());
        project.stale = true;
        let snapshot = project.fresh_snapshot(&docs);
        assert!(
            codes(&snapshot).contains(&"MG101"),
            "after a new configuration"
        );
        assert!(!snapshot.files[0].source.complete().ops.is_empty());
    }

    #[test]
    fn the_graph_is_rebuilt_only_when_declarations_change() {
        let text = "revision = 'b'\ndown_revision = 'a'\ndef upgrade():\n    pass\n";
        let (_dir, versions, mut project) = project_with(&[
            (
                "a.py",
                "revision = 'a'\ndown_revision = None\ndef upgrade():\n    pass  # empty: allow\n",
            ),
            ("b.py", text),
        ]);
        let docs = Documents::default();
        let uri = path_uri(&versions.join("b.py")).unwrap();
        docs.open(uri.clone(), 1, text);
        let first = project.fresh_snapshot(&docs);
        let edit = |version: i32, line: u32, col: u32, new_text: &str| {
            let range = tower_lsp::lsp_types::Range::new(
                tower_lsp::lsp_types::Position::new(line, col),
                tower_lsp::lsp_types::Position::new(line, col),
            );
            docs.change(
                &uri,
                version,
                vec![TextDocumentContentChangeEvent {
                    range: Some(range),
                    range_length: None,
                    text: new_text.into(),
                }],
            );
        };
        // Typing in upgrade(): the same graph.
        edit(2, 3, 8, "  # x");
        let second = project.fresh_snapshot(&docs);
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(Arc::ptr_eq(&first.graph, &second.graph));
        // A line above the declarations moves their ranges: a new graph.
        edit(3, 0, 0, "\n");
        let third = project.fresh_snapshot(&docs);
        assert!(!Arc::ptr_eq(&second.graph, &third.graph));
        let b = third.graph.by_id["b"];
        assert_eq!(
            third.graph.revisions[b].input.id.range.start,
            "\nrevision = ".len()
        );
        // Re-pointing `down_revision` to a base: two heads.
        edit(4, 2, 16, "None  # ");
        let fourth = project.fresh_snapshot(&docs);
        assert_eq!(fourth.graph.heads.len(), 2);
    }

    #[test]
    fn projects_are_found_below_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(
            &root.join("svc/one/alembic.ini"),
            "[alembic]\nscript_location = m\n",
        );
        write(
            &root.join("svc/two/alembic.ini"),
            "[alembic]\nscript_location = m\n",
        );
        write(
            &root.join("node_modules/x/alembic.ini"),
            "[alembic]\nscript_location = m\n",
        );
        let (specs, _) = discover_projects(&root);
        assert_eq!(specs.len(), 2);
    }
}
