#!/usr/bin/env python3
"""Time alembic-lsp --check against the tools a user would otherwise run.

Normally started by bench/run.sh, which installs the anchors, fetches the corpora and
generates the trees first. Standard library only.

For every input (real corpora from ../shared/corpus, generated trees from bench/gen.py)
a real copy is laid out as WORK/NAME/migrations/versions (zdm only looks under
.../migrations/versions and does not follow symbolic links) with an alembic.ini beside
it, and every tool runs from WORK/NAME on the same relative path `migrations/versions`:

  alembic-lsp    alembic-lsp --check --format json migrations/versions   (exit 1 = findings)
  alembic heads  alembic heads      (imports every migration; n/a when they cannot import)
  zdm            zdm --output-format json migrations/versions
  alembic-guard  alembic-guard --format json migrations/versions
  ruff E9        ruff check --no-cache --select E9 migrations/versions   (parse-only floor)

Each tool runs once to warm the page cache and check that it works, then RUNS more
times; the table shows the median wall time, the ratio to alembic-lsp (how many times
slower than alembic-lsp; below 1 means faster), and the peak resident set size
(GNU time's "Maximum resident set size", largest over the runs).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

TOOLS = ["alembic-lsp", "alembic heads", "zdm", "alembic-guard", "ruff E9"]
OK_EXIT = {"alembic-lsp": {0, 1}, "alembic heads": {0}, "zdm": {0, 1},
           "alembic-guard": {0, 1}, "ruff E9": {0, 1}}
# No .pyc next to the migrations: every `alembic heads` compiles them from source, as on
# a fresh CI checkout (the tools' own packages in the venv stay precompiled).
ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
SLOW = 3.0  # a first run slower than this counts as a sample (its cache is warm enough)


def command(tool, binary, venv):
    vb = os.path.join(venv, "bin")
    path = "migrations/versions"
    return {
        "alembic-lsp": [binary, "--check", "--format", "json", path],
        "alembic heads": [os.path.join(vb, "alembic"), "-c", "alembic.ini", "heads"],
        "zdm": [os.path.join(vb, "zdm"), "--output-format", "json", path],
        "alembic-guard": [os.path.join(vb, "alembic-guard"), "--format", "json", path],
        "ruff E9": [os.path.join(vb, "ruff"), "check", "--no-cache", "--select", "E9", path],
    }[tool]


def run_once(cmd, cwd, timeout):
    """(wall seconds, peak RSS KiB, exit code, stdout, stderr, CPU seconds) of one run."""
    tfile = os.path.join(cwd, ".bench-time")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", tfile, *cmd], cwd=cwd,
                           capture_output=True, timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        return None, None, "timeout", b"", b"", None
    wall = time.perf_counter() - t0
    rss = cpu = None
    try:
        with open(tfile) as f:
            for line in f:  # GNU time may print "Command exited with non-zero status" first
                m = re.fullmatch(r"(\d+) ([\d.]+) ([\d.]+)", line.strip())
                if m:
                    rss, cpu = int(m.group(1)), float(m.group(2)) + float(m.group(3))
    except OSError:
        pass
    return wall, rss, p.returncode, p.stdout, p.stderr, cpu


def sanity(tool, out, err, expect_files=None):
    """None when the output shows the tool really checked the files, else why not."""
    if tool == "zdm":
        try:
            d = json.loads(out or b"null")
        except ValueError:
            d = None
        if not d or "summary" not in d:
            return "no JSON output (found no migration files)"
    if tool == "alembic-lsp":
        try:
            d = json.loads(out)
        except ValueError:
            return "no JSON output"
        if not d.get("summary", {}).get("files"):
            return "checked no files"
        if expect_files is not None and d["summary"]["files"] != expect_files:
            return f"checked {d['summary']['files']} files of {expect_files}"
    if tool == "alembic-guard":
        try:
            json.loads(out)
        except ValueError:
            return "no JSON output"
    if tool == "alembic heads":
        heads = [l for l in out.decode(errors="replace").splitlines() if "(head)" in l]
        if not heads:
            return "printed no head"
    return None


def last_line(b):
    lines = [l for l in b.decode(errors="replace").splitlines() if l.strip()]
    return (lines[-1] if lines else "").strip()[:120]


def measure(tool, cmd, cwd, runs, timeout, expect_files=None):
    wall, rss, code, out, err, cpu = run_once(cmd, cwd, timeout)
    if code == "timeout":
        return {"error": f"timed out after {timeout} s"}
    if code not in OK_EXIT[tool]:
        why = last_line(err) or last_line(out)
        return {"error": f"exit {code}: {why}"}
    bad = sanity(tool, out, err, expect_files)
    if bad:
        return {"error": bad}
    samples, peaks, cpus = [], [rss or 0], []
    if wall > SLOW:
        samples.append(wall)
        cpus.append(cpu or 0.0)
        runs = max(1, min(runs, 3) - 1)
    for _ in range(runs):
        w, r, c, _, _, u = run_once(cmd, cwd, timeout)
        if c == "timeout" or c not in OK_EXIT[tool]:
            return {"error": f"unstable: exit {c} on a later run"}
        samples.append(w)
        peaks.append(r or 0)
        cpus.append(u or 0.0)
    res = {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
           "runs": len(samples), "rss_kib": max(peaks), "exit": code,
           "cpu": statistics.median(cpus)}
    if tool == "alembic-lsp":
        d = json.loads(out)
        res["files"] = d["summary"]["files"]
        res["findings"] = len(d.get("diagnostics", []))
        res["heads"] = d["graphs"][0]["heads"] if d.get("graphs") else None
    return res


# ---- inputs -------------------------------------------------------------------------

def copy_versions(src_dirs, dest):
    """Copy the versions dir(s) as real files into dest (= .../migrations/versions).

    Subdirectories are flattened when no two files share a name: zdm only reads files
    directly under .../migrations/versions, and Alembic's graph does not depend on the
    directory a revision sits in, so every tool then checks the same files, and the
    same graph. Returns True when flattened.
    """
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    files = []
    for s in src_dirs:
        for dp, dn, fn in os.walk(s):
            dn[:] = sorted(d for d in dn if d != "__pycache__")
            files += [os.path.join(dp, f) for f in sorted(fn)]
    names = [os.path.basename(f) for f in files]
    if len(set(names)) == len(names):
        os.makedirs(dest)
        for f in files:
            shutil.copyfile(f, os.path.join(dest, os.path.basename(f)))
        return True
    ignore = shutil.ignore_patterns("__pycache__")
    if len(src_dirs) == 1:
        shutil.copytree(src_dirs[0], dest, symlinks=False, ignore=ignore)
    else:
        os.makedirs(dest)
        for i, s in enumerate(src_dirs):
            shutil.copytree(s, os.path.join(dest, f"{i}_{os.path.basename(s)}"),
                            symlinks=False, ignore=ignore)
    return False


def prepare_corpus(name, path, locs, work):
    root = os.path.join(work, name)
    versions = os.path.join(root, "migrations", "versions")
    stamp = os.path.join(root, ".prepared")
    layout = f"layout 2\t{path}\t{';'.join(locs)}\n"
    try:
        with open(stamp) as f:
            fresh = f.read() == layout
    except OSError:
        fresh = False
    if not fresh:
        flat = copy_versions([os.path.join(path, l) for l in locs], versions)
        # an alembic.ini for `alembic heads`; a tree that could not be flattened is one
        # recursive version location (the same files, the same graph)
        ini = ["[alembic]", "script_location = %(here)s/migrations", "path_separator = os"]
        if not flat:
            ini.append("recursive_version_locations = true")
        with open(os.path.join(root, "alembic.ini"), "w") as f:
            f.write("\n".join(ini) + "\n")
        with open(stamp, "w") as f:
            f.write(layout)
    return root


def prepare_generated(gen_dir, work, name):
    """The generated project already has the right layout; copy it (real files)."""
    root = os.path.join(work, name)
    stamp = os.path.join(root, ".prepared")
    with open(os.path.join(gen_dir, "gen.json")) as f:
        info = json.load(f)
    if os.path.isfile(stamp):
        with open(stamp) as f:
            try:
                if json.load(f) == info:
                    return root, info
            except ValueError:
                pass
    if os.path.isdir(root):
        shutil.rmtree(root)
    shutil.copytree(gen_dir, root, symlinks=False)
    with open(stamp, "w") as f:
        json.dump(info, f)
    return root, info


def tree_size(root):
    n, size = 0, 0
    for dp, dn, fn in os.walk(os.path.join(root, "migrations", "versions")):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fn:
            if f.endswith(".py") and f != "__init__.py":
                n += 1
                size += os.path.getsize(os.path.join(dp, f))
    return n, size


# ---- report -------------------------------------------------------------------------

def fmt_time(s):
    if s < 0.1:
        return f"{s * 1000:.1f} ms"
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s"


def fmt_mib(kib):
    return f"{kib / 1024:.0f} MB" if kib >= 10 * 1024 else f"{kib / 1024:.1f} MB"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} CPUs ({model}), {mem} RAM, {platform.system()} {platform.release()}"


def versions(binary, venv):
    out = {}
    try:
        v = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        out["alembic-lsp"] = v.removeprefix("alembic-lsp ").strip() or "?"
    except OSError:
        out["alembic-lsp"] = "?"
    py = os.path.join(venv, "bin", "python")
    for pkg in ("alembic", "zdm", "alembic-guard", "ruff"):
        p = subprocess.run([py, "-m", "pip", "show", pkg], capture_output=True, text=True)
        m = re.search(r"^Version: (.+)$", p.stdout, re.M)
        out[pkg] = m.group(1) if m else "?"
    return out


def git_head(path):
    try:
        p = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=path,
                           capture_output=True, text=True)
        return p.stdout.strip() or "?"
    except OSError:
        return "?"


def report(rows, meta):
    lines = []
    lines.append(f"Machine: {meta['machine']}  ")
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "  ")
    lb, la = meta["load_before"], meta["load_after"]
    lines.append(f"Load average (1/5/15 min) before: {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, "
                 f"after: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (other processes slow every tool; "
                 "compare ratios from the same run)  ")
    lines.append(f"Repository at bench time: {meta['commit']}  ")
    lines.append(f"Date: {meta['date']}; runs per cell: {meta['runs']} after one warm-up "
                 f"(a first run over {SLOW:.0f} s counts as a sample, at most 3); median wall time.")
    lines.append("")
    lines.append("### Wall time (median; × = time ÷ alembic-lsp's time, below 1 = faster than alembic-lsp)")
    lines.append("")
    lines.append("| input | files | size | " + " | ".join(TOOLS) + " |")
    lines.append("|---|--:|--:|" + "--:|" * len(TOOLS))
    for r in rows:
        base = r["tools"].get("alembic-lsp", {}).get("median")
        cells = []
        for t in TOOLS:
            m = r["tools"].get(t)
            if m is None:
                cells.append("–")
            elif "error" in m:
                cells.append("n/a")
            elif t == "alembic-lsp" or not base:
                cells.append(fmt_time(m["median"]))
            else:
                cells.append(f"{fmt_time(m['median'])} ({m['median'] / base:.1f}×)")
        lines.append(f"| {r['name']} | {r['files']} | {r['size'] / 1e6:.1f} MB | "
                     + " | ".join(cells) + " |")
    lines.append("")
    lines.append("### CPU time (user + system, median; × = CPU ÷ alembic-lsp's CPU)")
    lines.append("")
    lines.append("Less sensitive than wall time to other load on the machine; a tool that "
                 "uses both cores spends more CPU than wall time.")
    lines.append("")
    lines.append("| input | " + " | ".join(TOOLS) + " |")
    lines.append("|---|" + "--:|" * len(TOOLS))
    for r in rows:
        base = r["tools"].get("alembic-lsp", {}).get("cpu")
        cells = []
        for t in TOOLS:
            m = r["tools"].get(t)
            if m is None:
                cells.append("–")
            elif "error" in m:
                cells.append("n/a")
            elif m["cpu"] < 0.01:  # GNU time counts CPU in 10 ms ticks
                cells.append("< 10 ms")
            elif t == "alembic-lsp" or not base or base < 0.01:
                cells.append(fmt_time(m["cpu"]))
            else:
                cells.append(f"{fmt_time(m['cpu'])} ({m['cpu'] / base:.1f}×)")
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("### Peak memory (maximum resident set size)")
    lines.append("")
    lines.append("| input | " + " | ".join(TOOLS) + " |")
    lines.append("|---|" + "--:|" * len(TOOLS))
    for r in rows:
        cells = []
        for t in TOOLS:
            m = r["tools"].get(t)
            cells.append("–" if m is None else "n/a" if "error" in m else fmt_mib(m["rss_kib"]))
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("### Language server")
    lines.append("")
    lines.append("| measure | alembic-lsp |")
    lines.append("|---|--:|")
    lsp = meta.get("lsp")
    if not lsp:
        lines.append("| (not measured: `bench/lsp_latency.py DIR`, or `bench/run.sh` with the 10k tree) | |")
    elif "error" in lsp:
        lines.append(f"| n/a: {lsp['error']} | |")
    else:
        lines.append(f"| keystroke → publishDiagnostics, {lsp['file_lines']}-line migration in a "
                     f"{lsp['migrations']}-migration workspace (p50 / p99, {lsp['keystrokes']} keystrokes) "
                     f"| {lsp['p50_ms']} ms / {lsp['p99_ms']} ms |")
        if "head_change_p50_ms" in lsp:
            lines.append(f"| down_revision edit → both heads republished (p50 / max) "
                         f"| {lsp['head_change_p50_ms']} ms / {lsp['head_change_max_ms']} ms |")
        lines.append(f"| index on initialize (to the end of `$/progress`) | {lsp['index_ms']} ms |")
        lines.append(f"| didOpen of that migration → diagnostics | {lsp['open_to_diagnostics_ms']} ms |")
        if lsp.get("rss_mb"):
            lines.append(f"| resident memory at the end (peak) | {lsp['rss_mb']} MB ({lsp['peak_rss_mb']} MB) |")
    notes = []
    for r in rows:
        for t in TOOLS:
            m = r["tools"].get(t)
            if m and "error" in m:
                notes.append(f"- {r['name']} / {t}: n/a — {m['error']}")
    if notes:
        lines.append("")
        lines.append("n/a cells (the tool could not check this input):")
        lines.append("")
        lines.extend(notes)
    extra = []
    for r in rows:
        m = r["tools"].get("alembic-lsp")
        if m and "error" not in m:
            want = r.get("expected_heads")
            agree = ("" if want is None else
                     " (as real Alembic)" if sorted(want) == sorted(m["heads"] or []) else
                     f" — DIFFERENT from real Alembic's {sorted(want)}")
            extra.append(f"- {r['name']}: alembic-lsp checked {m['files']} files, "
                         f"{m['findings']} findings, exit {m['exit']}, "
                         f"{len(m['heads'] or [])} head(s){agree}; spread "
                         f"{fmt_time(m['min'])}–{fmt_time(m['max'])} over {m['runs']} runs")
    if extra:
        lines.append("")
        lines.append("alembic-lsp details:")
        lines.append("")
        lines.extend(extra)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--work", required=True, help="where the real copies are laid out")
    ap.add_argument("--corpus", action="append", default=[],
                    help="NAME<TAB>DIR<TAB>LOCS line from fetch.sh (repeatable)")
    ap.add_argument("--truth", help="directory of truth/NAME.json (to check the heads found)")
    ap.add_argument("--generated", action="append", default=[],
                    help="NAME=DIR of a bench/gen.py tree (repeatable)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--markdown", help="write the Markdown report here too")
    ap.add_argument("--lsp", help="a project to run bench/lsp_latency.py on (the 10k tree)")
    a = ap.parse_args()

    binary = os.path.abspath(a.bin)
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in tools:
        if t not in TOOLS:
            sys.exit(f"bench.py: unknown tool {t!r} (known: {', '.join(TOOLS)})")
    os.makedirs(a.work, exist_ok=True)
    inputs = []
    for line in a.corpus:
        name, path, locs = line.split("\t")
        heads = None
        if a.truth and os.path.isfile(os.path.join(a.truth, name + ".json")):
            with open(os.path.join(a.truth, name + ".json")) as f:
                heads = json.load(f)["heads"]
        inputs.append((name, prepare_corpus(name, path, locs.split(";"), a.work), heads))
    for spec in a.generated:
        name, d = spec.split("=", 1)
        root, info = prepare_generated(d, a.work, name)
        inputs.append((name, root, [info["head"]]))

    load_before = os.getloadavg()
    rows = []
    for name, root, heads in inputs:
        files, size = tree_size(root)
        row = {"name": name, "files": files, "size": size, "tools": {}, "expected_heads": heads}
        for t in TOOLS:
            if t not in tools:
                continue
            sys.stderr.write(f"bench: {name:<20} {t:<14} ")
            sys.stderr.flush()
            m = measure(t, command(t, binary, a.venv), root, a.runs, a.timeout, files)
            row["tools"][t] = m
            sys.stderr.write(("n/a: " + m["error"]) if "error" in m else
                             f"{fmt_time(m['median'])}  {fmt_mib(m['rss_kib'])}")
            sys.stderr.write("\n")
        rows.append(row)

    lsp = None
    if a.lsp and "alembic-lsp" in tools:
        sys.stderr.write(f"bench: language server on {a.lsp}\n")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsp_latency.py")
        try:
            out = subprocess.run([sys.executable, script, a.lsp, "--bin", binary, "--json"],
                                 capture_output=True, text=True, timeout=a.timeout, check=True)
            lsp = json.loads(out.stdout)
        except (subprocess.SubprocessError, ValueError) as e:
            lsp = {"error": str(e).splitlines()[0]}
    meta = {"lsp": lsp, "machine": machine(), "versions": versions(binary, a.venv),
            "date": datetime.date.today().isoformat(), "runs": a.runs,
            "load_before": load_before, "load_after": os.getloadavg(),
            "commit": git_head(os.path.dirname(os.path.abspath(__file__)))}
    text = report(rows, meta)
    sys.stdout.write(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
