//! What the server touches on disk: it writes nothing (anywhere), and it reads
//! only inside its workspace folders, the documents it is given and what the
//! project's own Alembic configuration names (docs/decisions.md, "Security").
//!
//! The write check snapshots every file and folder of the workspace, HOME,
//! XDG_* folders, TMPDIR and the current directory (path, kind, size, content
//! hash, modification time) before and after a full session. The read check
//! runs the same session under `strace` and looks at every path the server
//! names in a file system call; it is skipped, with a message, where `strace`
//! is missing (`.ci/run` installs it, so it runs in CI).

mod lsp_support;

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use lsp_support::*;
use serde_json::{json, Value};

/// Kind, size, content hash and modification time of one entry.
type Entry = (&'static str, u64, u64, Option<std::time::SystemTime>);

/// Every entry under `roots`, links not followed.
fn snapshot(roots: &[&Path]) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut todo: Vec<PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let modified = meta.modified().ok();
        let entry = if meta.is_dir() {
            for child in std::fs::read_dir(&path).unwrap() {
                todo.push(child.unwrap().path());
            }
            ("dir", 0, 0, modified)
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            let mut h = DefaultHasher::new();
            target.hash(&mut h);
            ("link", 0, h.finish(), modified)
        } else {
            let mut h = DefaultHasher::new();
            std::fs::read(&path).unwrap().hash(&mut h);
            ("file", meta.len(), h.finish(), modified)
        };
        out.insert(path, entry);
    }
    out
}

/// Folders standing for the user's machine: HOME, XDG_*, TMPDIR, the current
/// directory. All empty at the start.
struct Machine {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for sub in [
            "home", "config", "cache", "data", "state", "runtime", "tmp", "cwd",
        ] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        Machine { _dir: dir, root }
    }

    /// `command` with its environment and current directory pointed here.
    fn confine(&self, command: &mut Command) {
        let r = &self.root;
        command
            .env("HOME", r.join("home"))
            .env("XDG_CONFIG_HOME", r.join("config"))
            .env("XDG_CACHE_HOME", r.join("cache"))
            .env("XDG_DATA_HOME", r.join("data"))
            .env("XDG_STATE_HOME", r.join("state"))
            .env("XDG_RUNTIME_DIR", r.join("runtime"))
            .env("TMPDIR", r.join("tmp"))
            // Cargo's library path for build scripts: the loader would search it.
            .env_remove("LD_LIBRARY_PATH")
            .current_dir(r.join("cwd"));
    }
}

/// A project giving the server something to do in every feature: findings
/// with approval and rewrite fixes, two heads (the merge-revision action), a
/// configuration file, a `.git` folder marking the repository root.
fn busy_project() -> (Project, Vec<PathBuf>) {
    let project = Project::new();
    std::fs::create_dir(project.root.join(".git")).unwrap();
    std::fs::write(project.root.join("alembic-lsp.toml"), "max-heads = 1\n").unwrap();
    let a1 = project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write(
        "b2_users.py",
        &migration("b2", Some("a1"), "users").replace(
            "def upgrade():\n",
            "def upgrade():\n    op.drop_table(\"legacy\")\n    op.create_index(\"ix\", \"users\", [\"email\"])\n    op.alter_column(\"users\", \"email\", nullable=False, type_=sa.Text())\n    op.execute(\"ALTER TABLE users DROP COLUMN age\")\n",
        ),
    );
    let c3 = project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    (project, vec![a1, b2, c3])
}

/// Everything a client does in a working session, ending with shutdown/exit
/// (asserted to exit 0). Commands offered by code actions are executed.
fn full_session(mut server: Server, files: &[PathBuf]) {
    let mut uris = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let uri = server.open(path, 1);
        server.diagnostics_until(&uri, |p| p["version"] == 1);
        if i == 0 {
            server.change(&uri, 2, (0, 0), (0, 0), "# edited\n");
            server.diagnostics_until(&uri, |p| p["version"] == 2);
        }
        server.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        );
        uris.push(uri);
    }
    let mut actions = 0;
    for uri in &uris {
        let diagnostics = server.latest_diagnostics(uri).unwrap()["diagnostics"].clone();
        let whole =
            json!({"start": {"line": 0, "character": 0}, "end": {"line": 999, "character": 0}});
        for context in [
            json!({"diagnostics": diagnostics}),
            json!({"diagnostics": [], "only": ["source"]}),
        ] {
            let found = server.request(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": uri}, "range": whole, "context": context}),
            );
            for action in found.as_array().into_iter().flatten() {
                actions += 1;
                // A code action carrying a command, or a bare command.
                let command = match &action["command"] {
                    Value::Object(_) => Some(&action["command"]),
                    Value::String(_) => Some(action),
                    _ => None,
                };
                if let Some(command) = command {
                    server.request(
                        "workspace/executeCommand",
                        json!({"command": command["command"], "arguments": command["arguments"]}),
                    );
                }
            }
        }
        let at = json!({"textDocument": {"uri": uri}, "position": {"line": 14, "character": 12}});
        for method in [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/completion",
        ] {
            server.request(method, at.clone());
        }
        let mut references = at.clone();
        references["context"] = json!({"includeDeclaration": true});
        server.request("textDocument/references", references);
        server.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        );
        // Not offered; asked anyway, as some clients do on save.
        let formatting = server.request_raw(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
        );
        assert!(formatting.get("error").is_some() || formatting["result"].is_null());
    }
    assert!(actions >= 5, "only {actions} code actions offered");
    server.request("workspace/symbol", json!({"query": ""}));
    let created = files[0].with_file_name("d4_new.py");
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [
            {"uri": uri(&files[0]), "type": 2},
            {"uri": uri(&created), "type": 1},
            {"uri": uri(&files[0].with_file_name("gone.py")), "type": 3},
        ]}),
    );
    server.notify("workspace/didChangeConfiguration", json!({"settings": {}}));
    for uri in &uris {
        server.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        );
    }
    // The server asked nothing of the client that would write for it.
    assert!(
        !server
            .seen
            .iter()
            .any(|m| m["method"] == "workspace/applyEdit"),
        "the server asked the client to apply an edit on its own"
    );
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn a_full_session_writes_nothing() {
    let (project, files) = busy_project();
    let machine = Machine::new();
    let roots = [project.root.as_path(), machine.root.as_path()];
    let before = snapshot(&roots);
    let mut command = Server::command();
    machine.confine(&mut command);
    let server = Server::start_command(command, &project.root, vscode_capabilities(), None);
    full_session(server, &files);
    let after = snapshot(&roots);
    let mut changes = Vec::new();
    for (path, entry) in &after {
        match before.get(path) {
            None => changes.push(format!("created {}", path.display())),
            Some(old) if old != entry => changes.push(format!("changed {}", path.display())),
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        changes.push(format!("deleted {}", path.display()));
    }
    assert!(before.len() > 10, "{} entries", before.len());
    assert!(changes.is_empty(), "{}", changes.join("\n"));
}

/// One file system call made by the server, from `strace -f -e trace=%file`.
#[derive(Debug)]
struct Call {
    syscall: String,
    path: PathBuf,
    flags: String,
}

/// The calls in an `strace -f` log that name a path. Calls split over two
/// lines (`<unfinished ...>` / `resumed>`) carry the path on the first.
fn parse_strace(log: &str) -> Vec<Call> {
    let mut out = Vec::new();
    for line in log.lines() {
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        let Some(open) = line.find('(') else { continue };
        let syscall = &line[..open];
        if syscall.is_empty()
            || !syscall
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &line[open + 1..];
        let Some(start) = rest.find('"') else {
            continue;
        };
        let Some(len) = rest[start + 1..].find('"') else {
            continue;
        };
        let path = &rest[start + 1..start + 1 + len];
        let flags = rest[start + 1 + len..].to_owned();
        out.push(Call {
            syscall: syscall.to_owned(),
            path: PathBuf::from(path),
            flags,
        });
    }
    out
}

fn writes(call: &Call) -> bool {
    const WRITING: [&str; 21] = [
        "creat",
        "mkdir",
        "mkdirat",
        "rmdir",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "truncate",
        "chmod",
        "fchmodat",
        "chown",
        "lchown",
        "fchownat",
        "utimensat",
        "mknodat",
    ];
    WRITING.contains(&call.syscall.as_str())
        || (call.syscall.starts_with("open")
            && ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                .iter()
                .any(|f| call.flags.contains(f)))
}

/// Where a program may look outside the workspace: the dynamic loader,
/// libraries, the kernel's views, devices, and the binary itself.
fn system_path(path: &Path) -> bool {
    let system = ["/proc", "/sys", "/lib", "/lib64", "/usr", "/dev"];
    system.iter().any(|s| path.starts_with(s))
        || path.to_string_lossy().starts_with("/etc/ld.so")
        || path == Path::new(env!("CARGO_BIN_EXE_alembic-lsp"))
}

/// The server under `strace`; None (with a message) where strace is missing.
fn traced(machine: &Machine, log: &Path) -> Option<Command> {
    let available = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("strace is not installed: the read-confinement check is skipped");
        return None;
    }
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-e", "trace=%file", "-o"])
        .arg(log)
        .arg(env!("CARGO_BIN_EXE_alembic-lsp"))
        .arg("--stdio");
    machine.confine(&mut command);
    Some(command)
}

/// Checks a trace: no writes at all; every path opened is inside `allowed`
/// or a system path; paths only looked at (stat, readlink, access) may also
/// be `allowed`'s ancestors (resolving them) or a configuration file name in
/// an ancestor up to the repository root (the configuration walk-up, SPEC §5).
fn confinement_failures(calls: &[Call], allowed: &[PathBuf]) -> Vec<String> {
    let config_names = ["alembic.ini", "pyproject.toml", "alembic-lsp.toml", ".git"];
    let mut failures = Vec::new();
    for call in calls {
        let path = &call.path;
        // `fstat` of a descriptor (AT_EMPTY_PATH): its `open` was checked.
        if path.as_os_str().is_empty() || call.syscall == "execve" || call.syscall == "chdir" {
            continue;
        }
        if writes(call) {
            failures.push(format!("write: {call:?}"));
            continue;
        }
        if system_path(path) || allowed.iter().any(|a| path.starts_with(a)) {
            continue;
        }
        let looks_only = !call.syscall.starts_with("open");
        let ancestor = allowed.iter().any(|a| a.starts_with(path));
        let config_above = path.file_name().is_some_and(|n| {
            config_names.iter().any(|c| n == *c)
                && path
                    .parent()
                    .is_some_and(|p| allowed.iter().any(|a| a.starts_with(p)))
        });
        if (looks_only && ancestor) || config_above {
            continue;
        }
        failures.push(format!("outside: {call:?}"));
    }
    failures
}

#[test]
fn reads_stay_inside_the_workspace_and_nothing_is_written() {
    let (project, files) = busy_project();
    let machine = Machine::new();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("strace.log");
    let Some(command) = traced(&machine, &log) else {
        return;
    };
    let server = Server::start_command(command, &project.root, vscode_capabilities(), None);
    full_session(server, &files);
    let calls = parse_strace(&std::fs::read_to_string(&log).unwrap());
    let inside = calls
        .iter()
        .filter(|c| c.path.starts_with(&project.versions))
        .count();
    assert!(inside >= 3, "the trace shows no read of the migrations");
    eprintln!(
        "{} file system calls traced, {inside} in the versions folder",
        calls.len()
    );
    let failures = confinement_failures(&calls, std::slice::from_ref(&project.root));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `script_location = ../elsewhere`, and a versions folder that is a link to
/// a folder outside the workspace: the project's configuration names them, so
/// they are indexed like Alembic loads them (docs/decisions.md); nothing else
/// outside is read, not even the folder next to them.
#[test]
fn configured_locations_outside_the_workspace_are_the_only_reads_outside() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().canonicalize().unwrap();
    let workspace = top.join("workspace");
    let elsewhere = top.join("elsewhere");
    let linked = top.join("linked-versions");
    let private = top.join("private");
    for d in [&workspace, &elsewhere.join("versions"), &linked, &private] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::create_dir(workspace.join(".git")).unwrap();
    std::fs::write(elsewhere.join("env.py"), "").unwrap();
    std::fs::write(
        workspace.join("alembic.ini"),
        "[alembic]\nscript_location = ../elsewhere\n",
    )
    .unwrap();
    // A second project whose versions folder is a link out of the workspace.
    let second = workspace.join("second");
    std::fs::create_dir_all(second.join("migrations")).unwrap();
    std::fs::write(
        second.join("alembic.ini"),
        "[alembic]\nscript_location = migrations\n",
    )
    .unwrap();
    std::fs::write(second.join("migrations/env.py"), "").unwrap();
    std::os::unix::fs::symlink(&linked, second.join("migrations/versions")).unwrap();

    std::fs::write(
        elsewhere.join("versions/e1_base.py"),
        migration("e1", None, "base"),
    )
    .unwrap();
    let e2 = elsewhere.join("versions/e2_next.py");
    std::fs::write(&e2, migration("e2", Some("e1"), "next")).unwrap();
    std::fs::write(linked.join("l1_base.py"), migration("l1", None, "base")).unwrap();
    let l2 = linked.join("l2_next.py");
    std::fs::write(&l2, migration("l2", Some("l1"), "next")).unwrap();
    std::fs::write(private.join("secret.py"), "revision = 'x'\n").unwrap();
    std::fs::write(private.join("alembic.ini"), "[alembic]\n").unwrap();

    let machine = Machine::new();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("strace.log");
    let command = traced(&machine, &log).unwrap_or_else(|| {
        let mut command = Server::command();
        machine.confine(&mut command);
        command
    });
    let mut server = Server::start_command(command, &workspace, vscode_capabilities(), None);
    // Both projects are indexed: `e1` and `l1` resolve (no MG202 unknown
    // revision), and go-to-definition leads out of the workspace.
    for (path, parent, parent_file) in [
        (&e2, "'e1'", elsewhere.join("versions/e1_base.py")),
        (&l2, "'l1'", linked.join("l1_base.py")),
    ] {
        let text = std::fs::read_to_string(path).unwrap();
        let uri = server.open(path, 1);
        let published = server.diagnostics_until(&uri, |p| p["version"] == 1);
        assert!(!has_code(&published, "MG202"), "{published:#}");
        let (line, col) = find(&text, &format!("down_revision = {parent}"));
        let target = server.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col + 17}}),
        );
        let target = if target.is_array() {
            target[0].clone()
        } else {
            target
        };
        let target_uri = target["uri"].as_str().unwrap_or("").to_owned();
        let expected: Value = json!(lsp_support::uri(&parent_file));
        assert!(
            json!(target_uri) == expected
                || target_uri.ends_with(parent_file.file_name().unwrap().to_str().unwrap()),
            "{target:#}"
        );
    }
    assert_eq!(server.shutdown(), Some(0));
    if log.exists() {
        let calls = parse_strace(&std::fs::read_to_string(&log).unwrap());
        let failures = confinement_failures(&calls, &[workspace.clone(), elsewhere, linked]);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let private_reads: Vec<&Call> = calls
            .iter()
            .filter(|c| c.path.starts_with(&private))
            .collect();
        assert!(private_reads.is_empty(), "{private_reads:#?}");
    }
}
