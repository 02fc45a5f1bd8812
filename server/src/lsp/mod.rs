//! The language server (tower-lsp). The only part of the tool that knows
//! about LSP types.
//!
//! - [`document`]: open documents (rope, incremental tree-sitter reparse).
//! - [`workspace`]: the projects of the workspace folders, their files,
//!   cached findings and the latest analysis of each graph.
//! - [`analyzer`]: the one thread that analyses and publishes diagnostics.
//! - [`navigation`], [`actions`]: what requests answer.
//!
//! Handlers apply document changes before their first `.await` (tower-lsp
//! runs up to four at once, started in arrival order) and hand the rest to
//! the analysis thread; requests compute on the blocking pool, each behind
//! `catch_unwind`, so a panic becomes an error response and a log line.

mod actions;
mod analyzer;
mod convert;
mod document;
mod framing;
mod navigation;
mod settings;
mod workspace;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tower_lsp::jsonrpc::{self, ErrorCode};
use tower_lsp::lsp_types::*;
use tower_lsp::{Client, LanguageServer, LspService, Server};

use analyzer::{Analyzer, Event};
use workspace::{lock, uri_path, Documents, Workspace};

/// What the client said it can do, for the features that depend on it.
#[derive(Clone, Debug, Default)]
pub struct ClientCaps {
    pub work_done_progress: bool,
    pub watch_files_dynamically: bool,
    pub document_changes: bool,
    pub create_files: bool,
}

impl ClientCaps {
    fn from(caps: &ClientCapabilities) -> ClientCaps {
        let workspace = caps.workspace.as_ref();
        let edit = workspace.and_then(|w| w.workspace_edit.as_ref());
        ClientCaps {
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            watch_files_dynamically: workspace
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|w| w.dynamic_registration)
                .unwrap_or(false),
            document_changes: edit.and_then(|e| e.document_changes).unwrap_or(false),
            create_files: edit.is_some_and(|e| {
                e.document_changes == Some(true)
                    && e.resource_operations
                        .as_ref()
                        .is_some_and(|ops| ops.contains(&ResourceOperationKind::Create))
            }),
        }
    }
}

/// State shared by the handlers and the analysis thread.
pub struct Shared {
    documents: Documents,
    workspace: Mutex<Workspace>,
    caps: OnceLock<ClientCaps>,
    /// Events sent and not yet taken by the analysis thread (its background
    /// checks stop early for them).
    waiting: AtomicUsize,
}

struct Backend {
    client: Client,
    shared: Arc<Shared>,
    events: Sender<Event>,
    /// Folders and settings from `initialize`, indexed on `initialized`.
    pending: Mutex<Option<(Vec<PathBuf>, Option<Value>)>>,
    shutdown: Arc<AtomicBool>,
}

/// Runs the server on stdin/stdout until the client says `exit`. Exits the
/// process with 1 when `exit` (or the end of input) comes without `shutdown`.
pub fn run_stdio() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alembic-lsp: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    runtime.block_on(async move {
        let (service, socket) = LspService::new(move |client| Backend::new(client, flag));
        let exited = Arc::new(tokio::sync::Notify::new());
        let service = ExitWatch {
            inner: service,
            exited: exited.clone(),
        };
        // Only well-formed frames reach tower-lsp (see `framing`).
        let (guarded, reader) = tokio::io::duplex(1 << 20);
        tokio::spawn(framing::forward_valid_frames(tokio::io::stdin(), guarded));
        let serve = Server::new(reader, tokio::io::stdout(), socket).serve(service);
        tokio::select! {
            () = serve => {}
            () = exited.notified() => {}
        }
    });
    // The stdin reader may still be blocked in a read: do not wait for it.
    runtime.shutdown_background();
    if !shutdown.load(Ordering::SeqCst) {
        std::process::exit(1);
    }
}

/// Passes every message on, and signals `exit`: tower-lsp only stops
/// serving when it reads the next message after `exit`, and a client that
/// keeps stdin open would wait for the process forever.
struct ExitWatch<S> {
    inner: S,
    exited: Arc<tokio::sync::Notify>,
}

impl<S: tower_service::Service<jsonrpc::Request>> tower_service::Service<jsonrpc::Request>
    for ExitWatch<S>
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: jsonrpc::Request) -> S::Future {
        let exit = request.method() == "exit";
        let future = self.inner.call(request);
        if exit {
            self.exited.notify_one();
        }
        future
    }
}

impl Backend {
    fn new(client: Client, shutdown: Arc<AtomicBool>) -> Backend {
        let shared = Arc::new(Shared {
            documents: Documents::default(),
            workspace: Mutex::new(Workspace::default()),
            caps: OnceLock::new(),
            waiting: AtomicUsize::new(0),
        });
        let (events, receiver) = mpsc::channel();
        let analyzer = Analyzer::new(
            shared.clone(),
            client.clone(),
            tokio::runtime::Handle::current(),
        );
        let spawned = std::thread::Builder::new()
            .name("alembic-lsp-analysis".into())
            .spawn(move || analyzer.run(receiver));
        if let Err(e) = spawned {
            eprintln!("alembic-lsp: cannot start the analysis thread: {e}");
        }
        Backend {
            client,
            shared,
            events,
            pending: Mutex::new(None),
            shutdown,
        }
    }

    fn send(&self, event: Event) {
        // The analysis thread only ends with the process.
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = self.events.send(event);
    }

    /// Runs a request's work on the blocking pool behind `catch_unwind`.
    async fn compute<T, F>(&self, name: &'static str, work: F) -> jsonrpc::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> T + Send + 'static,
    {
        let shared = self.shared.clone();
        let joined = tokio::task::spawn_blocking(move || guarded(|| work(&shared))).await;
        let failure = match joined {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(message)) => message,
            Err(e) => e.to_string(),
        };
        let message = format!("{name} failed: {failure}");
        eprintln!("alembic-lsp: {message}");
        self.client.log_message(MessageType::ERROR, &message).await;
        Err(jsonrpc::Error {
            code: ErrorCode::InternalError,
            message: message.into(),
            data: None,
        })
    }
}

/// Runs `work`, turning a panic into its message.
fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|p| panic_message(&p))
}

pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

fn folders_of(params: &InitializeParams) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().ok())
        .collect();
    #[allow(deprecated)] // Older clients send only `rootUri` / `rootPath`.
    if folders.is_empty() {
        if let Some(root) = params.root_uri.as_ref().and_then(|u| u.to_file_path().ok()) {
            folders.push(root);
        } else if let Some(root) = &params.root_path {
            folders.push(PathBuf::from(root));
        }
    }
    folders
        .into_iter()
        .map(|f| f.canonicalize().unwrap_or(f))
        .collect()
}

/// Where in the document a position request points, with the project's snapshot.
fn locate(
    shared: &Shared,
    uri: &Url,
    position: Position,
) -> Option<(Arc<workspace::Snapshot>, usize, usize)> {
    let path = uri_path(uri)?;
    let snapshot = analyzer::snapshot_for(shared, &path)?;
    let index = snapshot.file_of(&path)?;
    let offset = convert::offset(&snapshot.files[index].source, position);
    Some((snapshot, index, offset))
}

#[tower_lsp::async_trait]
impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> jsonrpc::Result<InitializeResult> {
        let _ = self.shared.caps.set(ClientCaps::from(&params.capabilities));
        *lock(&self.pending) = Some((folders_of(&params), params.initialization_options.clone()));
        let sync = TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                include_text: Some(false),
            })),
            ..TextDocumentSyncOptions::default()
        };
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Options(sync)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["'".into(), "\"".into()]),
                    ..CompletionOptions::default()
                }),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::new(actions::APPROVE_ALL),
                        ]),
                        ..CodeActionOptions::default()
                    },
                )),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "alembic-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let (folders, settings) = lock(&self.pending).take().unwrap_or_default();
        self.send(Event::Initialize { folders, settings });
        if self
            .shared
            .caps
            .get()
            .is_some_and(|c| c.watch_files_dynamically)
        {
            let client = self.client.clone();
            tokio::spawn(async move {
                let watchers = [
                    "**/*.py",
                    "**/alembic.ini",
                    "**/pyproject.toml",
                    "**/alembic-lsp.toml",
                ]
                .into_iter()
                .map(|glob| FileSystemWatcher {
                    glob_pattern: GlobPattern::String(glob.into()),
                    kind: None,
                })
                .collect();
                let registration = Registration {
                    id: "alembic-lsp-watch".into(),
                    method: "workspace/didChangeWatchedFiles".into(),
                    register_options: serde_json::to_value(
                        DidChangeWatchedFilesRegistrationOptions { watchers },
                    )
                    .ok(),
                };
                if let Err(e) = client.register_capability(vec![registration]).await {
                    client
                        .log_message(MessageType::INFO, format!("no file watching ({e}); folders are re-scanned on open, save and change"))
                        .await;
                }
            });
        }
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        self.shutdown.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        self.shared
            .documents
            .open(doc.uri.clone(), doc.version, &doc.text);
        self.send(Event::Opened(doc.uri));
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        if self
            .shared
            .documents
            .change(&uri, params.text_document.version, params.content_changes)
        {
            self.send(Event::Changed(uri));
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.send(Event::Saved(params.text_document.uri));
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.shared.documents.close(&params.text_document.uri);
        self.send(Event::Closed(params.text_document.uri));
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        self.send(Event::Watched(params.changes));
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.send(Event::Settings(params.settings));
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let paths = |folders: Vec<WorkspaceFolder>| -> Vec<PathBuf> {
            folders
                .into_iter()
                .filter_map(|f| f.uri.to_file_path().ok())
                .map(|f| f.canonicalize().unwrap_or(f))
                .collect()
        };
        self.send(Event::Folders {
            added: paths(params.event.added),
            removed: paths(params.event.removed),
        });
    }

    async fn hover(&self, params: HoverParams) -> jsonrpc::Result<Option<Hover>> {
        let at = params.text_document_position_params;
        self.compute("hover", move |shared| {
            let (snapshot, index, offset) = locate(shared, &at.text_document.uri, at.position)?;
            navigation::hover(&snapshot, index, offset)
        })
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> jsonrpc::Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        self.compute("definition", move |shared| {
            let (snapshot, index, offset) = locate(shared, &at.text_document.uri, at.position)?;
            navigation::definition(&snapshot, index, offset).map(GotoDefinitionResponse::Scalar)
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> jsonrpc::Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let declaration = params.context.include_declaration;
        self.compute("references", move |shared| {
            let (snapshot, index, offset) = locate(shared, &at.text_document.uri, at.position)?;
            Some(navigation::references(
                &snapshot,
                index,
                offset,
                declaration,
            ))
        })
        .await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> jsonrpc::Result<Option<DocumentSymbolResponse>> {
        let uri = params.text_document.uri;
        self.compute("documentSymbol", move |shared| {
            let source = match shared.documents.source(&uri) {
                Some((_, source)) => source,
                None => {
                    let path = uri_path(&uri)?;
                    let snapshot = analyzer::snapshot_for(shared, &path)?;
                    // An unopened file's model keeps no operations.
                    snapshot.files[snapshot.file_of(&path)?].source.complete()
                }
            };
            Some(DocumentSymbolResponse::Nested(
                navigation::document_symbols(&source),
            ))
        })
        .await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> jsonrpc::Result<Option<Vec<SymbolInformation>>> {
        self.compute("workspace/symbol", move |shared| {
            let snapshots = analyzer::all_snapshots(shared);
            Some(navigation::workspace_symbols(
                &snapshots,
                &params.query,
                1000,
            ))
        })
        .await
    }

    async fn completion(
        &self,
        params: CompletionParams,
    ) -> jsonrpc::Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        self.compute("completion", move |shared| {
            let (snapshot, index, offset) = locate(shared, &at.text_document.uri, at.position)?;
            let items = navigation::complete_down_revision(&snapshot, index, offset);
            (!items.is_empty()).then_some(CompletionResponse::Array(items))
        })
        .await
    }

    async fn code_action(
        &self,
        params: CodeActionParams,
    ) -> jsonrpc::Result<Option<CodeActionResponse>> {
        self.compute("codeAction", move |shared| {
            let path = uri_path(&params.text_document.uri)?;
            let snapshot = analyzer::snapshot_for(shared, &path)?;
            let file_index = snapshot.file_of(&path)?;
            let range = convert::text_range(&snapshot.files[file_index].source, params.range);
            let caps = shared.caps.get().cloned().unwrap_or_default();
            let request = actions::Request {
                snapshot: &snapshot,
                file_index,
                range,
                only: params.context.only.as_deref(),
                caps: &caps,
            };
            let found = actions::code_actions(&request);
            Some(
                found
                    .into_iter()
                    .map(CodeActionOrCommand::CodeAction)
                    .collect(),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_message() {
        assert_eq!(guarded(|| 7), Ok(7));
        let text = String::from("index out of bounds");
        assert_eq!(guarded(|| -> i32 { panic!("{text}") }), Err(text));
        assert_eq!(
            guarded(|| -> i32 { panic!("static") }),
            Err("static".to_owned())
        );
    }
}
