#!/usr/bin/env python3
"""Keystroke → publishDiagnostics latency of the alembic-lsp language server.

usage: lsp_latency.py DIR [--file FILE] [--keystrokes N] [--where upgrade|docstring|code]
                         [--autoclose] [--bin PATH] [--slowest N] [--json]

  DIR          an Alembic project (a folder with alembic.ini), or a versions folder
               (a throwaway project pointing at it is made in a temporary folder)
  --file       the migration to type in (default: the longest one)
  --keystrokes how many characters to type (default 300)
  --where      upgrade (default): a comment line inside upgrade(), the usual edit;
               code: operations typed line by line at the top of upgrade() (the file
               is broken from each line's first character to its closing parenthesis);
               docstring: the end of the docstring's first line, above the revision
               variables, so every keystroke moves their ranges and rebuilds the graph
  --bin        the server binary (default: $ALEMBIC_LSP_BIN, else target/release/alembic-lsp)
  --heads N    then N times: point a head's down_revision at its grandparent (its
               parent becomes a second head) and back; the time until both files'
               diagnostics are republished is one sample (default 20; 0 to skip). The
               head is the typed file when it is one, else the first head by path whose
               parent has no other child (opened first)
  --during-checks  start typing right after the index's first stage, while every
               file's rules still run in the background (default: wait for them)
  --autoclose  type as VS Code does by default: an opening bracket or quote also inserts
               its closer, and typing that closer moves over it (no change is sent)
  --slowest N  also print the N slowest keystrokes with the line typed so far
  --json       print the numbers as JSON instead of a table

It starts the server over stdio as an editor would, waits for the workspace index
($/progress end), opens the file, then types a comment line inside upgrade(), one
character per didChange, waiting each time for the publishDiagnostics of that
document version: the time between the two is one sample. Prints the index time,
the time to the first diagnostics after didOpen, and p50 / p90 / p99 / max of the
keystroke samples. Standard library only.
"""

import argparse
import gc
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


class Client:
    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.messages = queue.Queue()
        self.lock = threading.Lock()
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _write(self, message):
        body = json.dumps(message).encode()
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(out.read(length))
            if "method" in message and "id" in message:
                # Server → client request (progress token, registration): accept.
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
            self.messages.put((time.perf_counter(), message))

    def notify(self, method, params):
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)
        return self.wait(lambda m: m.get("id") == rid and "method" not in m)[1]

    def wait(self, predicate, timeout=600):
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no matching message from the server")
            at, message = self.messages.get(timeout=left)
            if predicate(message):
                return at, message


def percentile(samples, p):
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def utf16_len(text):
    return len(text.encode("utf-16-le")) // 2


def declared(text, name):
    """The id a module-level `name = '...'` declares (None when not a plain string)."""
    m = re.search(rf"^{name}\s*(?::[^=\n]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return m and (m.group(1), m.start(1), m.end(1))


def parents(text):
    """Every id named on the `down_revision = ...` line."""
    m = re.search(r"^down_revision\s*(?::[^=\n]*)?=\s*(.+)$", text, re.M)
    return set(re.findall(r"['\"]([^'\"]+)['\"]", m.group(1))) if m else set()


def head_file(files, preferred):
    """A head to re-point: `preferred` if it is one, else the first head (by path) whose
    parent has no other child and a single string parent of its own."""
    texts = {p: p.read_text(errors="replace") for p in files}
    children = {}
    for p, t in texts.items():
        for parent in parents(t):
            children.setdefault(parent, []).append(p)
    by_id = {(declared(t, "revision") or ("",))[0]: p for p, t in texts.items()}

    def usable(p):
        rev, down = declared(texts[p], "revision"), declared(texts[p], "down_revision")
        if not rev or rev[0] in children or not down:
            return False
        parent = by_id.get(down[0])
        return (children.get(down[0]) == [p] and parent is not None
                and declared(texts[parent], "down_revision") is not None)

    if usable(preferred):
        return preferred
    return next((p for p in sorted(texts) if usable(p)), None)


def head_change(client, uri, files, text, version, rounds):
    """Samples of: down_revision edit → publishDiagnostics of both affected files."""
    down = declared(text, "down_revision")
    if not rounds or not down:
        return []
    parent_id, start, end = down
    parent = next((p for p in files if (declared(p.read_text(errors="replace"), "revision")
                                        or ("",))[0] == parent_id), None)
    grand = parent and declared(parent.read_text(errors="replace"), "down_revision")
    if not grand:
        print("  (no down_revision edit: the parent has no single string parent)", file=sys.stderr)
        return []
    # The parent becomes a head only if the file is its one child.
    siblings = [p for p in files if p.resolve() != Path(uri[len("file://"):])
                and parent_id in p.read_text(errors="replace")
                and (declared(p.read_text(errors="replace"), "down_revision") or ("",))[0] == parent_id]
    if siblings:
        print("  (no down_revision edit: the parent has other children)", file=sys.stderr)
        return []
    parent_uri = parent.resolve().as_uri()
    line = text.count("\n", 0, start)
    col = utf16_len(text[text.rfind("\n", 0, start) + 1:start])
    has_mg201 = lambda m: any(d.get("code") == "MG201" for d in m["params"]["diagnostics"])
    samples, current = [], parent_id
    for i in range(2 * rounds):
        new = grand[0] if current == parent_id else parent_id
        version += 1
        rng = {"start": {"line": line, "character": col},
               "end": {"line": line, "character": col + utf16_len(current)}}
        split = new == grand[0]
        sent = time.perf_counter()
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": rng, "text": new}]})
        seen = set()
        last = sent
        while len(seen) < 2:
            try:
                at, m = client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                    and m["params"]["uri"] in (uri, parent_uri), timeout=30)
            except Exception:
                print("  (down_revision edit: both files were not republished with the expected "
                      "MG201 within 30 s; this project's graph or settings may keep MG201 quiet)",
                      file=sys.stderr)
                return samples
            p = m["params"]
            if p["uri"] == uri and p.get("version") != version:
                continue
            if has_mg201(m) == split:
                seen.add(p["uri"])
                last = at
        samples.append((last - sent) * 1000)
        current = new
    return samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--keystrokes", type=int, default=300)
    ap.add_argument("--where", choices=["upgrade", "docstring", "code"], default="upgrade")
    ap.add_argument("--heads", type=int, default=20)
    ap.add_argument("--bin")
    ap.add_argument("--during-checks", action="store_true",
                    help="start typing right after the index, while the background checks run")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--autoclose", action="store_true",
                    help="type as an editor that closes brackets and quotes does (VS Code's default)")
    ap.add_argument("--slowest", type=int, default=0, metavar="N",
                    help="also print the N slowest keystrokes and the line typed so far")
    args = ap.parse_args()
    # The client's own pauses are not the server's latency: Python's cyclic
    # garbage collector, run by the allocations of parsing each publication's
    # JSON, would add its collections to random samples.
    gc.disable()

    repo = Path(__file__).resolve().parent.parent
    binary = args.bin or os.environ.get("ALEMBIC_LSP_BIN") or str(repo / "target/release/alembic-lsp")
    project = args.dir.resolve()
    scratch = None
    if (project / "alembic.ini").is_file():
        root = project
        files = [p for p in project.rglob("*.py") if "versions" in p.parts]
    else:
        scratch = tempfile.TemporaryDirectory()
        root = Path(scratch.name)
        (root / "migrations").mkdir()
        (root / "alembic.ini").write_text(
            f"[alembic]\nscript_location = %(here)s/migrations\nversion_locations = {project}\n"
            "recursive_version_locations = true\n"
        )
        files = list(project.rglob("*.py"))
    target = (args.file or max(files, key=lambda p: p.read_text(errors="replace").count("\n"))).resolve()
    text = target.read_text()
    lines = text.split("\n")
    upgrade = next(i for i, line in enumerate(lines) if line.startswith("def upgrade"))
    # Type on a new line right after `def upgrade(...):` (and its docstring, if one line).
    line = upgrade + 1
    if lines[line].strip().startswith(('"""', "'''")) and lines[line].strip().count('"""') != 1:
        line += 1

    client = Client(binary)
    started = time.perf_counter()
    uri_root = root.as_uri()
    client.request("initialize", {
        "processId": os.getpid(),
        "rootUri": uri_root,
        "workspaceFolders": [{"uri": uri_root, "name": root.name}],
        "capabilities": {"window": {"workDoneProgress": True},
                         "textDocument": {"publishDiagnostics": {"versionSupport": True}}},
    })
    client.notify("initialized", {})
    done, end = client.wait(lambda m: m.get("method") == "$/progress"
                            and m["params"]["value"].get("kind") == "end")
    index_ms = (done - started) * 1000
    # The index's second stage (the rules of every file) runs in the background
    # under its own progress; typing starts once it is done.
    checked_ms = None
    try:
        if args.during_checks:
            raise TimeoutError
        at, _ = client.wait(lambda m: m.get("method") == "$/progress"
                            and m["params"]["value"].get("kind") == "end"
                            and m["params"]["value"].get("message", "").startswith("checked"),
                            timeout=120)
        checked_ms = (at - started) * 1000
    except Exception:
        pass

    uri = target.as_uri()
    is_ours = lambda v: (lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri and m["params"].get("version") == v)
    sent = time.perf_counter()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}})
    got, first = client.wait(is_ours(1))
    open_ms = (got - sent) * 1000

    typed = "    # " + ("the quick brown fox jumps over the lazy dog. " * 100)
    if args.where == "code":
        # Operations typed line by line: every keystroke between the first
        # character and the closing parenthesis leaves the file broken.
        typed = ('    op.add_column("events", sa.Column("seen_at", sa.DateTime(), nullable=True))\n'
                 '    op.create_index("ix_events_seen_at", "events", ["seen_at"])\n'
                 '    op.execute("UPDATE events SET seen_at = now()")\n') * 20
    if args.where == "docstring":
        # Append to the first line (the message), no new line first.
        line, column, typed = 0, utf16_len(lines[0]), typed.lstrip(" #")
    else:
        column = 0
    samples = []
    where_typed, typed_line = [], ""
    # With --autoclose, the closers the editor inserted after the cursor.
    closers = []
    version = 1
    for i in range(args.keystrokes):
        new_line = i == 0 and args.where in ("upgrade", "code")
        ch = "\n" if new_line else typed[(i - 1 if args.where != "docstring" else i) % len(typed)]
        inserted = ch
        if args.autoclose and not new_line:
            if closers and closers[-1] == ch:
                # Typed over: the cursor moves, the text does not change.
                closers.pop()
                column += utf16_len(ch)
                typed_line += ch
                continue
            pair = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'"}.get(ch)
            if pair:
                inserted = ch + pair
                closers.append(pair)
        version += 1
        start = {"line": line, "character": 0 if new_line else column}
        params = {"textDocument": {"uri": uri, "version": version},
                  "contentChanges": [{"range": {"start": start, "end": start}, "text": inserted}]}
        sent = time.perf_counter()
        client.notify("textDocument/didChange", params)
        got, _ = client.wait(is_ours(version))
        samples.append((got - sent) * 1000)
        typed_line = typed_line + ch if ch != "\n" else ""
        where_typed.append(typed_line)
        if ch == "\n" and not new_line:
            line, column = line + 1, 0
        elif not new_line:
            column += utf16_len(ch)
    # The down_revision edits go to a head (the typed file when it is one).
    head = head_file(files, target) if args.heads else None
    head_samples = []
    if head == target:
        head_samples = head_change(client, uri, files, text, version, args.heads)
    elif head:
        head_uri, head_text = head.resolve().as_uri(), head.read_text()
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": head_uri, "languageId": "python", "version": 1, "text": head_text}})
        client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] == head_uri and m["params"].get("version") == 1)
        head_samples = head_change(client, head_uri, files, head_text, 1, args.heads)
    elif args.heads:
        print("  (no down_revision edit: no head with a single-child parent)", file=sys.stderr)
    memory = {}
    try:
        for row in Path(f"/proc/{client.proc.pid}/status").read_text().splitlines():
            key, _, value = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                memory[key] = int(value.split()[0]) // 1024
    except OSError:
        pass
    client.request("shutdown")
    client.notify("exit", None)
    client.proc.wait(timeout=30)

    result = {
        "project": str(args.dir),
        "file": str(target),
        "file_lines": len(lines),
        "migrations": sum(1 for _ in files),
        "index_message": end["params"]["value"].get("message"),
        "index_ms": round(index_ms, 1),
        "all_checked_ms": checked_ms and round(checked_ms, 1),
        "open_to_diagnostics_ms": round(open_ms, 2),
        "where": args.where + (" (autoclose)" if args.autoclose else ""),
        "keystrokes": len(samples),
        "first_diagnostics": len(first["params"]["diagnostics"]),
        "p50_ms": round(statistics.median(samples), 2),
        "p90_ms": round(percentile(samples, 90), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "max_ms": round(max(samples), 2),
    }
    if memory:
        result["rss_mb"], result["peak_rss_mb"] = memory.get("VmRSS"), memory.get("VmHWM")
    if head_samples:
        result["head_change_p50_ms"] = round(statistics.median(head_samples), 2)
        result["head_change_max_ms"] = round(max(head_samples), 2)
    if args.slowest:
        for ms, at in sorted(zip(samples, where_typed), reverse=True)[:args.slowest]:
            print(f"  {ms:6.2f} ms after {at!r}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['project']}: {result['migrations']} migrations, typing in "
              f"{target.name} ({result['file_lines']} lines)")
        print(f"  index: {result['index_ms']} ms ({result['index_message']})")
        if checked_ms:
            print(f"  every file checked (second stage): {result['all_checked_ms']} ms")
        print(f"  didOpen → diagnostics: {result['open_to_diagnostics_ms']} ms")
        print(f"  keystroke ({result['where']}) → diagnostics over {result['keystrokes']} keystrokes: "
              f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, "
              f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms")
        if memory:
            print(f"  memory: {result['rss_mb']} MB resident at the end, {result['peak_rss_mb']} MB peak")
        if head_samples:
            print(f"  down_revision edit → both heads republished over {len(head_samples)} edits: "
                  f"p50 {result['head_change_p50_ms']} ms, max {result['head_change_max_ms']} ms")
    if scratch:
        scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
