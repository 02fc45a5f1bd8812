//! A small LSP client for the tests: runs the real binary over stdio,
//! answers the server's requests, and keeps every message it sent us.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    messages: Receiver<Value>,
    next_id: i64,
    /// Every notification and server request received so far.
    pub seen: Vec<Value>,
}

/// What VS Code says it supports, as far as this server cares.
pub fn vscode_capabilities() -> Value {
    json!({
        "window": {"workDoneProgress": true},
        "workspace": {
            "didChangeWatchedFiles": {"dynamicRegistration": true},
            "workspaceEdit": {"documentChanges": true, "resourceOperations": ["create", "rename", "delete"]},
            "configuration": true,
            "workspaceFolders": true
        },
        "textDocument": {
            "publishDiagnostics": {"versionSupport": true},
            "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source"]}}}
        }
    })
}

/// What Neovim on Linux says: no file watching, no progress.
pub fn neovim_capabilities() -> Value {
    json!({
        "workspace": {
            "didChangeWatchedFiles": {"dynamicRegistration": false},
            "workspaceEdit": {"documentChanges": true, "resourceOperations": ["rename", "create", "delete"]}
        },
        "textDocument": {"publishDiagnostics": {}}
    })
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn write_message(stdin: &Mutex<ChildStdin>, message: &Value) {
    let body = message.to_string();
    let mut stdin = stdin.lock().unwrap();
    // The server may be gone (exit tests); the caller checks its status.
    let _ = write!(stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body);
    let _ = stdin.flush();
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A request or notification; `null` params are left out (`shutdown`, `exit`).
fn message(id: Option<i64>, method: &str, params: Value) -> Value {
    let mut message = json!({"jsonrpc": "2.0", "method": method});
    if let Some(id) = id {
        message["id"] = json!(id);
    }
    if !params.is_null() {
        message["params"] = params;
    }
    message
}

impl Server {
    pub fn spawn() -> Server {
        Server::spawn_command(Server::command())
    }

    /// The command that runs the server, for tests that set its environment
    /// or wrap it (`strace`) before `spawn_command`.
    pub fn command() -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alembic-lsp"));
        command.arg("--stdio");
        command
    }

    pub fn spawn_command(mut command: Command) -> Server {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdin = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let answer = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                // Server → client requests (progress tokens, registrations): accept.
                if message.get("method").is_some() {
                    if let Some(id) = message.get("id") {
                        write_message(
                            &answer,
                            &json!({"jsonrpc": "2.0", "id": id, "result": null}),
                        );
                    }
                }
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            stdin,
            messages: rx,
            next_id: 1,
            seen: Vec::new(),
        }
    }

    /// Starts a server and initializes it on `root`.
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start(root: &Path, capabilities: Value, options: Option<Value>) -> Server {
        Server::start_command(Server::command(), root, capabilities, options)
    }

    /// `start` with a prepared command (see `command`).
    pub fn start_command(
        command: Command,
        root: &Path,
        capabilities: Value,
        options: Option<Value>,
    ) -> Server {
        let mut server = Server::spawn_command(command);
        let result = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{"uri": uri(root), "name": "root"}],
                "capabilities": capabilities,
                "initializationOptions": options,
            }),
        );
        assert_eq!(result["capabilities"]["textDocumentSync"]["change"], 2);
        server.notify("initialized", json!({}));
        server
    }

    /// Writes bytes as they are: for malformed traffic.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let mut stdin = self.stdin.lock().unwrap();
        let _ = stdin.write_all(bytes);
        let _ = stdin.flush();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        write_message(&self.stdin, &message(None, method, params));
    }

    /// Sends a request and returns its whole response.
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        write_message(&self.stdin, &message(Some(id), method, params));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self
                .next(deadline)
                .unwrap_or_else(|| panic!("no response to {method}"));
            if message.get("method").is_none() && message["id"] == json!(id) {
                return message;
            }
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    /// The next message, recording notifications and server requests.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(wait) {
            Ok(message) => {
                if message.get("method").is_some() {
                    self.seen.push(message.clone());
                }
                Some(message)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Waits until a received notification or request matches.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|m| matches(m)) {
            return found.clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.next(deadline) {
                Some(m) if m.get("method").is_some() && matches(&m) => return m,
                Some(_) => {}
                None => panic!("timed out waiting for {what}; seen: {:#?}", self.seen),
            }
        }
    }

    /// The latest diagnostics published for `uri`, if any.
    pub fn latest_diagnostics(&self, uri: &str) -> Option<Value> {
        self.seen
            .iter()
            .rev()
            .find(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            .map(|m| m["params"].clone())
    }

    /// Waits until the latest diagnostics published for `uri` satisfy `ok`.
    pub fn diagnostics_until(&mut self, uri: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(latest) = self.latest_diagnostics(uri) {
                if ok(&latest) {
                    return latest;
                }
            }
            if self.next(deadline).is_none() {
                panic!(
                    "timed out waiting for diagnostics of {uri}; latest: {:#}",
                    self.latest_diagnostics(uri).unwrap_or_default()
                );
            }
        }
    }

    /// Reads whatever arrives during `time`.
    pub fn drain(&mut self, time: Duration) {
        let deadline = Instant::now() + time;
        while self.next(deadline).is_some() {}
    }

    pub fn open(&mut self, path: &Path, version: i32) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        self.open_text(path, version, &text)
    }

    pub fn open_text(&mut self, path: &Path, version: i32, text: &str) -> String {
        let uri = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}),
        );
        uri
    }

    /// One incremental change: replace `[start, end)` (line, UTF-16 column).
    pub fn change(
        &mut self,
        uri: &str,
        version: i32,
        start: (u32, u32),
        end: (u32, u32),
        text: &str,
    ) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{
                    "range": {"start": {"line": start.0, "character": start.1}, "end": {"line": end.0, "character": end.1}},
                    "text": text
                }]
            }),
        );
    }

    /// Shuts down and exits; returns the exit code.
    pub fn shutdown(mut self) -> Option<i32> {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Codes of a `publishDiagnostics` params object.
pub fn codes(params: &Value) -> Vec<String> {
    params["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

pub fn has_code(params: &Value, code: &str) -> bool {
    codes(params).iter().any(|c| c == code)
}

/// A temporary Alembic project: `alembic.ini`, `migrations/env.py`, and
/// `migrations/versions/`.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub versions: PathBuf,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let versions = root.join("migrations/versions");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(
            root.join("alembic.ini"),
            "[alembic]\nscript_location = %(here)s/migrations\n",
        )
        .unwrap();
        std::fs::write(root.join("migrations/env.py"), "").unwrap();
        Project {
            dir,
            root,
            versions,
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.versions.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A migration as Alembic's template writes it, clean for every rule:
/// a table created in upgrade and dropped in downgrade.
pub fn migration(revision: &str, down: Option<&str>, message: &str) -> String {
    let revises = down.unwrap_or("");
    let down = down
        .map(|d| format!("'{d}'"))
        .unwrap_or_else(|| "None".into());
    format!(
        r#""""{message}

Revision ID: {revision}
Revises: {revises}
Create Date: 2024-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '{revision}'
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("t_{revision}", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("t_{revision}")
"#
    )
}

/// The line and UTF-16 column of the first occurrence of `needle`.
pub fn find(text: &str, needle: &str) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..at];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..at].encode_utf16().count() as u32;
    (line, col)
}

/// Applies LSP text edits (UTF-16 ranges) to a text, last first.
pub fn apply_edits(text: &str, edits: &[Value]) -> String {
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap() as usize;
        let character = pos["character"].as_u64().unwrap() as usize;
        let mut start = 0;
        for _ in 0..line {
            start += text[start..]
                .find('\n')
                .map_or(text.len() - start, |i| i + 1);
        }
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= character || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut edits: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_owned();
    for (start, end, new_text) in edits {
        out.replace_range(start..end, &new_text);
    }
    out
}
