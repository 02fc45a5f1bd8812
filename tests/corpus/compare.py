#!/usr/bin/env python3
"""Compare alembic-lsp's revision graph with real Alembic's on public corpora.

usage: compare.py [--bin PATH] [--shared DIR] [--cache DIR] [--paths manifest|truth]
                  [--json FILE] [NAME ...]

For every corpus of ../shared/corpus/corpora.tsv (or only the NAMEs given):
  1. fetch it with ../shared/corpus/fetch.sh (pip download of a wheel; needs the network,
     cached in ~/.cache/alembic-corpus or $ALEMBIC_CORPUS_DIR),
  2. run `alembic-lsp --check --format json DIR...` once, in the corpus directory, with
     all of its versions directories (one call = one graph),
  3. compare graphs[0] with truth/NAME.json (computed with real Alembic):

       ours (graphs[0])   truth (Alembic)
       heads              heads
       effective_heads    heads_consider_depends_on
       bases              bases
       merges             merge_points
       branch_points      branch_points
       revisions          n_revisions
       ok                 ok

Prints a Markdown table and exits 1 on any mismatch (2 when it cannot run at all).
The files count (summary.files vs Alembic's files_loaded) and graph-level diagnostics
on graphs Alembic loads cleanly are printed as notes; they do not fail the run.

--paths manifest (default) passes the versions directories of corpora.tsv (searched
recursively); --paths truth passes Alembic's own version_locations from the truth file
(for neutron/keystone: the versions directory and each release's expand/contract
directory, overlapping).

The binary is $ALEMBIC_LSP_BIN, else target/release/alembic-lsp (relative to the
repository root). Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
import time

FIELDS = [  # (ours, truth, kind)
    ("heads", "heads", "set"),
    ("effective_heads", "heads_consider_depends_on", "set"),
    ("bases", "bases", "set"),
    ("merges", "merge_points", "set"),
    ("branch_points", "branch_points", "set"),
    ("revisions", "n_revisions", "int"),
    ("ok", "ok", "bool"),
]

# Codes that mean "this graph is broken / this file is not a migration": on a corpus that
# real Alembic loads with no error, any of these is suspicious.
STRUCTURAL = ("MG001", "MG002", "MG004", "MG202", "MG203", "MG204", "MG206", "MG207")


def die(msg):
    """Cannot run at all: a one-line reason and exit 2 (a mismatch exits 1)."""
    sys.stderr.write(f"compare.py: {msg}\n")
    sys.exit(2)


def repo_root():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here,
                             capture_output=True, text=True, check=True).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return os.path.dirname(os.path.dirname(here))


def fetch(shared, cache, names):
    cmd = ["bash", os.path.join(shared, "corpus", "fetch.sh")]
    if cache:
        cmd += ["-o", cache]
    cmd += names
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        die(f"fetch.sh failed (exit {p.returncode}); it needs the network")
    rows = []
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        name, path, locs = line.split("\t")
        rows.append((name, path, locs.split(";")))
    return rows


def short(ids, limit=6):
    ids = sorted(ids)
    s = ", ".join(ids[:limit])
    return s + (f", … (+{len(ids) - limit})" if len(ids) > limit else "")


def diff_field(kind, ours, truth):
    """None when equal, else a short human description of the difference."""
    if kind == "set":
        if ours is None:
            return "missing in our JSON"
        o, t = set(ours), set(truth)
        if o == t and len(ours) == len(o):
            return None
        parts = []
        if t - o:
            parts.append(f"missing {short(t - o)}")
        if o - t:
            parts.append(f"extra {short(o - t)}")
        if len(ours) != len(o):
            parts.append("duplicates in our list")
        return "; ".join(parts)
    if ours != truth:
        return f"ours {ours!r} vs Alembic {truth!r}"
    return None


def run_corpus(binary, name, path, locs, truth, mode):
    if mode == "truth":
        dirs = list(truth["config"]["version_locations"])
    else:
        dirs = list(locs)
    missing = [d for d in dirs if not os.path.isdir(os.path.join(path, d))]
    res = {"name": name, "dirs": dirs, "truth_files": len(truth["files_loaded"]),
           "truth_revisions": truth["n_revisions"], "diffs": {}, "notes": [],
           "error": None}
    if missing:
        res["error"] = f"versions dir(s) not in fetched tree: {', '.join(missing)}"
        return res
    t0 = time.perf_counter()
    try:
        p = subprocess.run([binary, "--check", "--format", "json", *dirs], cwd=path,
                           capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        res["error"] = "timed out after 600 s"
        return res
    res["seconds"] = time.perf_counter() - t0
    res["exit"] = p.returncode
    if p.returncode not in (0, 1):
        err = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        res["error"] = f"exit {p.returncode}: {err[:200]}"
        return res
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        res["error"] = f"invalid JSON on stdout: {e}"
        return res
    graphs = out.get("graphs") or []
    res["files"] = out.get("summary", {}).get("files")
    if len(graphs) != 1:
        res["diffs"]["graphs"] = f"expected 1 graph, got {len(graphs)}"
        if not graphs:
            return res
    g = graphs[0]
    res["revisions"] = g.get("revisions")
    for ours_key, truth_key, kind in FIELDS:
        if truth_key not in truth:
            continue
        d = diff_field(kind, g.get(ours_key), truth[truth_key])
        if d:
            res["diffs"][ours_key] = d
    for key in ("heads", "effective_heads", "bases", "merges", "branch_points"):
        v = g.get(key)
        if isinstance(v, list) and v != sorted(v):
            res["notes"].append(f"graphs[0].{key} is not sorted")
    if res["files"] is not None and res["files"] != res["truth_files"]:
        res["notes"].append(f"files: ours {res['files']} vs Alembic loaded {res['truth_files']}")
    if truth.get("ok") and not truth.get("duplicates"):
        counts = {}
        for d in out.get("diagnostics", []):
            if d.get("code") in STRUCTURAL:
                counts[d["code"]] = counts.get(d["code"], 0) + 1
        if counts:
            res["notes"].append("structural findings on a graph Alembic loads: " + ", ".join(
                f"{c}×{n}" for c, n in sorted(counts.items())))
            res["structural"] = [
                f"{d['path']}:{d['line']}: {d['code']} {d['message']}"
                for d in out.get("diagnostics", []) if d.get("code") in STRUCTURAL][:10]
    codes = {}
    for d in out.get("diagnostics", []):
        codes[d.get("code")] = codes.get(d.get("code"), 0) + 1
    res["codes"] = codes
    return res


def main():
    root = repo_root()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="corpora to check (default: all)")
    ap.add_argument("--bin", default=os.environ.get("ALEMBIC_LSP_BIN",
                                                    os.path.join(root, "target/release/alembic-lsp")))
    ap.add_argument("--shared", default=os.path.join(root, "..", "shared"))
    ap.add_argument("--cache", default=None, help="corpus cache (fetch.sh -o)")
    ap.add_argument("--paths", choices=["manifest", "truth"], default="manifest")
    ap.add_argument("--json", help="also write the full results as JSON to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="show finding counts by code")
    a = ap.parse_args()

    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        die(f"no alembic-lsp binary at {binary} (cargo build --release, or set ALEMBIC_LSP_BIN)")
    truth_dir = os.path.join(a.shared, "corpus", "truth")
    if not os.path.isdir(truth_dir):
        die(f"no truth directory at {truth_dir} (--shared)")

    results = []
    for name, path, locs in fetch(a.shared, a.cache, a.names):
        tpath = os.path.join(truth_dir, name + ".json")
        if not os.path.isfile(tpath):
            results.append({"name": name, "error": f"no truth file {tpath}", "diffs": {},
                            "notes": []})
            continue
        with open(tpath) as f:
            truth = json.load(f)
        results.append(run_corpus(binary, name, path, locs, truth, a.paths))

    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"## Corpus comparison: {version or binary} vs real Alembic (paths: {a.paths})\n")
    print("| corpus | files (ours / Alembic) | revisions (ours / Alembic) | time | result | differences |")
    print("|---|---|---|---|---|---|")
    failed = 0
    for r in results:
        files = f"{r.get('files', '–')} / {r.get('truth_files', '–')}"
        revs = f"{r.get('revisions', '–')} / {r.get('truth_revisions', '–')}"
        secs = f"{r['seconds']:.2f} s" if "seconds" in r else "–"
        if r.get("error"):
            verdict, detail = "ERROR", r["error"]
        elif r["diffs"]:
            verdict = "MISMATCH"
            detail = "; ".join(f"**{k}**: {v}" for k, v in r["diffs"].items())
        else:
            verdict, detail = "match", ""
        if verdict != "match":
            failed += 1
        print(f"| {r['name']} | {files} | {revs} | {secs} | {verdict} | {detail} |")
    notes = [(r["name"], n) for r in results for n in r.get("notes", [])]
    if notes:
        print("\nNotes (do not fail the run):")
        for name, n in notes:
            print(f"- {name}: {n}")
        for r in results:
            for line in r.get("structural", []):
                print(f"    {r['name']}: {line}")
    if a.verbose:
        print("\nFindings by code:")
        for r in results:
            if r.get("codes"):
                print(f"- {r['name']}: " + ", ".join(
                    f"{c}×{n}" for c, n in sorted(r["codes"].items())))
    ok = len(results) - failed
    print(f"\n{ok}/{len(results)} corpora match real Alembic.")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
