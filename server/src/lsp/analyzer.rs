//! The one analysis thread. Handlers apply edits to the documents and send
//! an [`Event`]; this thread takes every event waiting, updates the index
//! (disk scans, configuration), analyses each affected graph once and
//! publishes the findings that changed, in order. Because it always reads
//! the documents' latest text and coalesces bursts, the last set published
//! for a document is the one of its last text.

use std::collections::{BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::runtime::Handle;
use tower_lsp::lsp_types::{
    self as lsp, notification, request, FileChangeType, FileEvent, MessageType, NumberOrString,
    ProgressParams, ProgressParamsValue, Url, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};
use tower_lsp::Client;

use super::convert;
use super::settings::ClientSettings;
use super::workspace::{
    self, discover_projects, is_config_file, lock, uri_path, ProjectState, Snapshot,
};
use super::{panic_message, Shared};
use crate::diagnostic::Diagnostic;
use crate::discovery;
use crate::migration::MigrationFile;

pub enum Event {
    Initialize {
        folders: Vec<PathBuf>,
        settings: Option<Value>,
    },
    Opened(Url),
    Changed(Url),
    Saved(Url),
    Closed(Url),
    Watched(Vec<FileEvent>),
    Settings(Value),
    Folders {
        added: Vec<PathBuf>,
        removed: Vec<PathBuf>,
    },
    /// Internal: run the rules of some files the index read for their
    /// declarations only (sent by the thread itself when no event waits).
    CheckPending,
    /// Internal: parse the real text of the open documents whose model was
    /// speculated (see `lsp::document`), when no event waits.
    Verify,
}

/// The index's second stage checks files in chunks of this many (in
/// parallel), for at most `CHECK_SLICE`, and stops as soon as an editor
/// event arrives: files of the chunk not started yet go back to the queue,
/// so an edit waits for one file per core, the analysis and its publication.
const CHECK_CHUNK: usize = 8;
const CHECK_SLICE: Duration = Duration::from_millis(40);

/// What was last published for a document, to publish only what changed.
struct Published {
    /// The file's key ([`workspace::path_key`]), as its snapshot names it.
    path: PathBuf,
    version: Option<i32>,
    source: Arc<MigrationFile>,
    findings: Arc<Vec<Diagnostic>>,
    sent: Vec<lsp::Diagnostic>,
}

type FileSet = Arc<HashMap<PathBuf, usize>>;

/// How often a keystroke may trigger a look at the configuration files.
const CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(2);

pub struct Analyzer {
    shared: Arc<Shared>,
    client: Client,
    runtime: Handle,
    published: HashMap<Url, Published>,
    /// The last snapshot published, per project.
    last_published: HashMap<u64, Arc<Snapshot>>,
    /// The file sets (snapshot indexes) the published findings were last
    /// checked against: while they stay the same, nothing published is gone.
    /// (Held, so that a freed index cannot come back at the same address.)
    checked_file_sets: Vec<Option<FileSet>>,
    last_config_check: Option<Instant>,
    progress_tokens: u32,
    indexing: Option<Indexing>,
    /// The index's second stage under way (files read for their declarations
    /// only get their rules run, a chunk at a time, between editor events).
    checking: Option<Checking>,
}

struct Checking {
    progress: Option<NumberOrString>,
    started: Instant,
    total: usize,
    done: usize,
}

/// The workspace index under way: reported done after its first analysis.
struct Indexing {
    progress: Option<NumberOrString>,
    started: Instant,
    files: usize,
    projects: usize,
}

/// What one batch of events asks for.
#[derive(Default)]
struct Work {
    all: bool,
    projects: BTreeSet<usize>,
    full_scan: BTreeSet<usize>,
    quick_scan: BTreeSet<usize>,
    config_check: bool,
    reload_files: Vec<PathBuf>,
    orphans: Vec<Url>,
}

impl Analyzer {
    pub fn new(shared: Arc<Shared>, client: Client, runtime: Handle) -> Analyzer {
        Analyzer {
            shared,
            client,
            runtime,
            published: HashMap::new(),
            last_published: HashMap::new(),
            checked_file_sets: Vec::new(),
            last_config_check: None,
            progress_tokens: 0,
            indexing: None,
            checking: None,
        }
    }

    pub fn run(mut self, events: Receiver<Event>) {
        loop {
            // Editor events first; when none waits, the confirmation of
            // speculated models, then the second stage of the index.
            let unverified = self.shared.documents.unverified();
            let first = if self.checking.is_some() || unverified {
                match events.try_recv() {
                    Ok(event) => event,
                    Err(TryRecvError::Empty) if unverified => Event::Verify,
                    Err(TryRecvError::Empty) => Event::CheckPending,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match events.recv() {
                    Ok(event) => event,
                    Err(_) => return,
                }
            };
            let mut batch = vec![first];
            batch.extend(events.try_iter());
            let taken = batch
                .iter()
                .filter(|e| !matches!(e, Event::CheckPending | Event::Verify))
                .count();
            self.shared.waiting.fetch_sub(taken, Ordering::SeqCst);
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.process(batch))) {
                self.log(
                    MessageType::ERROR,
                    format!(
                        "the analysis failed and is skipped: {}",
                        panic_message(&panic)
                    ),
                );
            }
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.follow_checking())) {
                self.log(
                    MessageType::ERROR,
                    format!("checking the migrations failed: {}", panic_message(&panic)),
                );
                self.checking = None;
            }
        }
    }

    /// Starts, reports or ends the index's second stage by what is pending.
    fn follow_checking(&mut self) {
        if self.indexing.is_some() {
            return;
        }
        let pending: usize = lock(&self.shared.workspace)
            .projects
            .iter()
            .map(ProjectState::pending_count)
            .sum();
        match (&mut self.checking, pending) {
            (None, 0) => {}
            (None, _) => {
                let progress = self.begin_progress("Checking Alembic migrations");
                self.checking = Some(Checking {
                    progress,
                    started: Instant::now(),
                    total: pending,
                    done: 0,
                });
            }
            (Some(checking), 0) => {
                let message = format!(
                    "checked {} migrations ({} ms)",
                    checking.done,
                    checking.started.elapsed().as_millis()
                );
                let progress = checking.progress.take();
                self.checking = None;
                self.log(MessageType::INFO, message.clone());
                if let Some(token) = progress {
                    self.end_progress(token, message);
                }
            }
            (Some(checking), _) => {
                let total = checking.total.max(checking.done + pending);
                checking.total = total;
                let done = checking.done;
                if let Some(token) = checking.progress.clone() {
                    self.report_progress(
                        &token,
                        format!("{done}/{total}"),
                        (done * 100 / total.max(1)) as u32,
                    );
                }
            }
        }
    }

    fn process(&mut self, batch: Vec<Event>) {
        let mut work = Work::default();
        let mut warnings = Vec::new();
        for event in batch {
            // Saving stats every file (an external tool may have rewritten
            // some); opening checks the folders only.
            let saved = matches!(event, Event::Saved(_));
            match event {
                Event::Initialize { folders, settings } => {
                    self.initialize(folders, settings, &mut warnings);
                    work.all = true;
                }
                Event::Settings(value) => {
                    if !ClientSettings::carries_settings(&value) {
                        continue;
                    }
                    let mut ws = lock(&self.shared.workspace);
                    match ClientSettings::from_json(&value) {
                        Ok(settings) => {
                            ws.settings = settings;
                            let settings = ws.settings.clone();
                            for project in &mut ws.projects {
                                warnings.extend(project.apply_settings(&settings));
                            }
                            work.all = true;
                        }
                        Err(e) => warnings.push(format!("{e} — the editor settings are ignored")),
                    }
                }
                Event::Folders { added, removed } => {
                    let mut ws = lock(&self.shared.workspace);
                    ws.folders.retain(|f| !removed.contains(f));
                    ws.projects
                        .retain(|p| !removed.iter().any(|f| p.root.starts_with(f)));
                    drop(ws);
                    for folder in added {
                        self.add_folder(folder, &mut warnings);
                    }
                    work.all = true;
                }
                Event::Opened(uri) | Event::Saved(uri) => {
                    let Some(path) = uri_path(&uri) else { continue };
                    if is_config_file(&path) {
                        work.config_check = true;
                    }
                    let mut owners = lock(&self.shared.workspace).projects_containing(&path);
                    if owners.is_empty() {
                        owners.extend(self.discover_for(&path, &mut warnings));
                    }
                    if owners.is_empty() {
                        work.orphans.push(uri);
                    }
                    if saved {
                        work.full_scan.extend(&owners);
                    } else {
                        work.quick_scan.extend(&owners);
                    }
                    work.projects.extend(owners);
                }
                Event::Changed(uri) => {
                    let Some(path) = uri_path(&uri) else { continue };
                    let owners = lock(&self.shared.workspace).projects_containing(&path);
                    if self
                        .last_config_check
                        .is_none_or(|t| t.elapsed() >= CONFIG_CHECK_INTERVAL)
                    {
                        work.config_check = true;
                    }
                    work.quick_scan.extend(&owners);
                    work.projects.extend(owners);
                }
                Event::Closed(uri) => {
                    let Some(path) = uri_path(&uri) else { continue };
                    let owners = lock(&self.shared.workspace).projects_containing(&path);
                    if owners.is_empty() {
                        work.orphans.push(uri);
                    }
                    work.projects.extend(owners);
                }
                Event::Verify => {
                    let waiting = &self.shared.waiting;
                    let event_waits = || waiting.load(Ordering::SeqCst) > 0;
                    for uri in self.shared.documents.verify(&event_waits) {
                        let Some(path) = uri_path(&uri) else { continue };
                        let owners = lock(&self.shared.workspace).projects_containing(&path);
                        work.projects.extend(owners);
                    }
                }
                Event::CheckPending => {
                    let mut ws = lock(&self.shared.workspace);
                    if let Some((i, project)) = ws
                        .projects
                        .iter_mut()
                        .enumerate()
                        .find(|(_, p)| p.pending_count() > 0)
                    {
                        // Small chunks until the time slice is spent or an editor
                        // event waits (at least one, so the checks always
                        // progress), then one analysis and publication for all.
                        let started = Instant::now();
                        let mut checked = 0;
                        let waiting = &self.shared.waiting;
                        let event_waits = || waiting.load(Ordering::SeqCst) > 0;
                        loop {
                            checked += project.check_pending(CHECK_CHUNK, &event_waits);
                            let more = project.pending_count() > 0
                                && started.elapsed() < CHECK_SLICE
                                && !event_waits();
                            if !more {
                                break;
                            }
                        }
                        if let Some(checking) = &mut self.checking {
                            checking.done += checked;
                        }
                        work.projects.insert(i);
                    }
                }
                Event::Watched(events) => {
                    for FileEvent { uri, typ } in events {
                        let Some(path) = uri_path(&uri) else { continue };
                        if is_config_file(&path) {
                            work.config_check = true;
                            if typ == FileChangeType::CREATED {
                                let folders = lock(&self.shared.workspace).folders.clone();
                                if folders.iter().any(|f| path.starts_with(f)) {
                                    if let Some(dir) = path.parent() {
                                        self.add_folder_specs(dir.to_path_buf(), &mut warnings);
                                        work.all = true;
                                    }
                                }
                            }
                            continue;
                        }
                        let owners = lock(&self.shared.workspace).projects_containing(&path);
                        if typ == FileChangeType::CHANGED {
                            work.reload_files.push(path);
                        } else {
                            work.full_scan.extend(&owners);
                        }
                        work.projects.extend(owners);
                    }
                }
            }
        }

        let snapshots = {
            let mut ws = lock(&self.shared.workspace);
            if work.config_check {
                self.last_config_check = Some(Instant::now());
                let settings = ws.settings.clone();
                for (i, project) in ws.projects.iter_mut().enumerate() {
                    if project.config_changed() {
                        warnings.extend(project.reload_config(&settings));
                        work.projects.insert(i);
                    }
                }
            }
            if work.all {
                work.projects.extend(0..ws.projects.len());
            }
            for path in &work.reload_files {
                for project in &mut ws.projects {
                    project.reload_file(path);
                }
            }
            let mut snapshots = Vec::new();
            for &i in &work.projects {
                let Some(project) = ws.projects.get_mut(i) else {
                    continue;
                };
                if work.full_scan.contains(&i) {
                    project.scan(true);
                } else if work.quick_scan.contains(&i) {
                    project.scan(false);
                }
                snapshots.push(project.fresh_snapshot(&self.shared.documents));
            }
            // Published for a file no analysis holds any more (deleted, moved
            // out, or its project gone): cleared below. Only looked for when a
            // project's set of files changed, not on every keystroke.
            let file_sets: Vec<Option<FileSet>> = ws
                .projects
                .iter()
                .map(|p| p.snapshot.as_ref().map(|s| s.index.clone()))
                .collect();
            let same = file_sets.len() == self.checked_file_sets.len()
                && file_sets
                    .iter()
                    .zip(&self.checked_file_sets)
                    .all(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                        (None, None) => true,
                        _ => false,
                    });
            let gone: Vec<Url> = if same {
                Vec::new()
            } else {
                let known = |path: &PathBuf| {
                    ws.projects.iter().any(|proj| {
                        proj.snapshot
                            .as_ref()
                            .is_some_and(|s| s.file_of(path).is_some())
                    })
                };
                self.checked_file_sets = file_sets;
                self.published
                    .iter()
                    .filter(|(_, p)| !known(&p.path))
                    .map(|(u, _)| u.clone())
                    .collect()
            };
            work.orphans.extend(gone);
            snapshots
        };

        for message in warnings {
            self.warn(message);
        }
        for snapshot in &snapshots {
            self.publish_snapshot(snapshot);
        }
        self.finish_indexing();
        for uri in work.orphans {
            if self
                .published
                .remove(&uri)
                .is_some_and(|p| !p.sent.is_empty())
            {
                self.send(uri, Vec::new(), None);
            }
        }
    }

    /// Publishes the findings of each file of the snapshot that changed
    /// since the last publication (always for a new document version).
    fn publish_snapshot(&mut self, snapshot: &Arc<Snapshot>) {
        let previous = self
            .last_published
            .insert(snapshot.project, snapshot.clone());
        // The same files as the last snapshot published: unchanged ones are
        // skipped by index, without a lookup (10,000 files per keystroke).
        let previous = previous.filter(|p| Arc::ptr_eq(&p.index, &snapshot.index));
        // Open documents first: the one being typed in does not wait for the
        // files a background check just finished.
        let files = &snapshot.files;
        let open = (0..files.len()).filter(|&i| files[i].version.is_some());
        let closed = (0..files.len()).filter(|&i| files[i].version.is_none());
        for i in open.chain(closed) {
            let (file, findings) = (&files[i], &snapshot.diagnostics[i]);
            if let Some(p) = &previous {
                let old = &p.files[i];
                if Arc::ptr_eq(&old.source, &file.source)
                    && old.version == file.version
                    && (Arc::ptr_eq(&p.diagnostics[i], findings) || p.diagnostics[i] == *findings)
                {
                    continue;
                }
            }
            let uri = &file.name.uri;
            let published = self.published.get(uri);
            let unchanged = published.is_some_and(|p| {
                p.version == file.version
                    && Arc::ptr_eq(&p.source, &file.source)
                    && (Arc::ptr_eq(&p.findings, findings) || p.findings == *findings)
            });
            if unchanged || (published.is_none() && findings.is_empty() && file.version.is_none()) {
                continue;
            }
            let sent: Vec<lsp::Diagnostic> = findings
                .iter()
                .map(|d| convert::diagnostic(&file.source, d))
                .collect();
            let same_set = published.is_some_and(|p| p.version == file.version && p.sent == sent);
            if !same_set {
                self.send(uri.clone(), sent.clone(), file.version);
            }
            self.published.insert(
                uri.clone(),
                Published {
                    path: file.name.path.clone(),
                    version: file.version,
                    source: file.source.clone(),
                    findings: findings.clone(),
                    sent,
                },
            );
        }
    }

    fn send(&self, uri: Url, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) {
        self.runtime
            .block_on(self.client.publish_diagnostics(uri, diagnostics, version));
    }

    fn warn(&self, message: String) {
        eprintln!("alembic-lsp: {message}");
        self.runtime.block_on(
            self.client
                .show_message(MessageType::WARNING, format!("alembic-lsp: {message}")),
        );
    }

    fn log(&self, typ: MessageType, message: String) {
        eprintln!("alembic-lsp: {message}");
        self.runtime.block_on(self.client.log_message(typ, message));
    }

    fn initialize(
        &mut self,
        folders: Vec<PathBuf>,
        settings: Option<Value>,
        warnings: &mut Vec<String>,
    ) {
        let settings = match settings.as_ref().map(ClientSettings::from_json) {
            None => ClientSettings::default(),
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                warnings.push(format!("{e} — the editor settings are ignored"));
                ClientSettings::default()
            }
        };
        let started = Instant::now();
        let progress = self.begin_progress("Indexing Alembic migrations");
        {
            let mut ws = lock(&self.shared.workspace);
            ws.settings = settings;
        }
        let mut specs = Vec::new();
        for folder in &folders {
            let (found, more) = discover_projects(folder);
            warnings.extend(more);
            specs.extend(found.into_iter().map(|s| (s, folder.clone())));
        }
        lock(&self.shared.workspace).folders = folders;
        let total = specs.len();
        let mut files = 0;
        for (done, (spec, folder)) in specs.into_iter().enumerate() {
            if let Some(token) = &progress {
                let name = spec
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| folder.display().to_string());
                self.report_progress(
                    token,
                    format!("{name} ({}/{total})", done + 1),
                    (done * 100 / total.max(1)) as u32,
                );
            }
            files += self.load_project(spec, &folder, warnings);
        }
        if let Some(token) = &progress {
            self.report_progress(token, format!("analysing {files} migrations"), 90);
        }
        // Ended once the first analysis is published (see `process`).
        self.indexing = Some(Indexing {
            progress,
            started,
            files,
            projects: total,
        });
    }

    fn finish_indexing(&mut self) {
        let Some(indexing) = self.indexing.take() else {
            return;
        };
        let message = format!(
            "{} migrations in {} project{} ({} ms)",
            indexing.files,
            indexing.projects,
            if indexing.projects == 1 { "" } else { "s" },
            indexing.started.elapsed().as_millis()
        );
        self.log(MessageType::INFO, format!("indexed {message}"));
        if let Some(token) = indexing.progress {
            self.end_progress(token, message);
        }
    }

    fn load_project(
        &mut self,
        spec: discovery::ProjectSpec,
        folder: &std::path::Path,
        warnings: &mut Vec<String>,
    ) -> usize {
        let settings = lock(&self.shared.workspace).settings.clone();
        let (project, more) = ProjectState::load(spec, folder, &settings);
        warnings.extend(more);
        let count = project.file_count();
        lock(&self.shared.workspace).add(project);
        count
    }

    fn add_folder(&mut self, folder: PathBuf, warnings: &mut Vec<String>) {
        lock(&self.shared.workspace).folders.push(folder.clone());
        self.add_folder_specs(folder, warnings);
    }

    fn add_folder_specs(&mut self, dir: PathBuf, warnings: &mut Vec<String>) {
        let (specs, more) = discover_projects(&dir);
        warnings.extend(more);
        for spec in specs {
            self.load_project(spec, &dir, warnings);
        }
    }

    /// A document outside every known project: the project above it, if
    /// its version locations hold the file.
    fn discover_for(&mut self, path: &std::path::Path, warnings: &mut Vec<String>) -> Vec<usize> {
        let Some(dir) = path.parent() else {
            return Vec::new();
        };
        let Ok(specs) = discovery::discover(dir) else {
            return Vec::new();
        };
        let settings = lock(&self.shared.workspace).settings.clone();
        let mut added = Vec::new();
        for spec in specs.into_iter().map(workspace::canonical_spec) {
            // Only a project that holds the file is loaded (not for env.py).
            if !workspace::spec_contains(&spec, path) {
                continue;
            }
            let root = spec
                .config_file
                .as_ref()
                .and_then(|c| c.parent())
                .unwrap_or(dir)
                .to_path_buf();
            let (project, more) = ProjectState::load(spec, &root, &settings);
            warnings.extend(more);
            if let Some(i) = lock(&self.shared.workspace).add(project) {
                added.push(i);
            }
        }
        added
    }

    fn begin_progress(&mut self, title: &str) -> Option<NumberOrString> {
        let supported = self.shared.caps.get().is_some_and(|c| c.work_done_progress);
        if !supported {
            return None;
        }
        self.progress_tokens += 1;
        let token = NumberOrString::String(format!("alembic-lsp/index/{}", self.progress_tokens));
        let created =
            self.runtime
                .block_on(self.client.send_request::<request::WorkDoneProgressCreate>(
                    WorkDoneProgressCreateParams {
                        token: token.clone(),
                    },
                ));
        if created.is_err() {
            return None;
        }
        self.progress(
            &token,
            WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: title.to_owned(),
                cancellable: Some(false),
                message: None,
                percentage: Some(0),
            }),
        );
        Some(token)
    }

    fn report_progress(&self, token: &NumberOrString, message: String, percentage: u32) {
        self.progress(
            token,
            WorkDoneProgress::Report(WorkDoneProgressReport {
                cancellable: Some(false),
                message: Some(message),
                percentage: Some(percentage),
            }),
        );
    }

    fn end_progress(&self, token: NumberOrString, message: String) {
        self.progress(
            &token,
            WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(message),
            }),
        );
    }

    fn progress(&self, token: &NumberOrString, value: WorkDoneProgress) {
        self.runtime
            .block_on(
                self.client
                    .send_notification::<notification::Progress>(ProgressParams {
                        token: token.clone(),
                        value: ProgressParamsValue::WorkDone(value),
                    }),
            );
    }
}

/// The snapshot of the project owning `path`, fresh for the documents' text.
pub fn snapshot_for(shared: &Shared, path: &std::path::Path) -> Option<Arc<Snapshot>> {
    let mut ws = lock(&shared.workspace);
    let owner = ws.owner(path)?;
    Some(ws.projects[owner].fresh_snapshot(&shared.documents))
}

/// Every project's latest analysis (for workspace-wide requests).
pub fn all_snapshots(shared: &Shared) -> Vec<Arc<Snapshot>> {
    let mut ws = lock(&shared.workspace);
    ws.projects
        .iter_mut()
        .map(|p| p.fresh_snapshot(&shared.documents))
        .collect()
}
