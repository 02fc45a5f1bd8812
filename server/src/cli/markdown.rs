//! `--format markdown`: a pull-request comment. A summary line, one table of
//! findings per file, and the explanations of the rules that fired, folded.

use std::io::Write;

use super::report::Report;
use crate::diagnostic::Severity;
use crate::rules::Rule;

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Info => "ℹ️ info",
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A table cell: one line, no column break, no HTML. Inside code spans
/// entities would show literally, so only `|` is escaped there (GitHub
/// splits table columns before it reads code spans).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// The rule's explanation inside the comment: its `##` headings become
/// bold lines, so they do not outrank the comment's own.
fn explanation(rule: &Rule) -> String {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in rule.explanation().lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        match line.strip_prefix("## ") {
            Some(heading) if !fenced => out.push(format!("**{heading}**\n")),
            _ => out.push(line.to_owned()),
        }
    }
    out.join("\n")
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    let graphs: Vec<String> = report
        .graphs
        .iter()
        .map(|g| {
            let status = if g.ok { "" } else { ", Alembic cannot load it" };
            format!(
                "{}, {}{status}",
                plural(g.revisions, "revision"),
                plural(g.heads.len(), "head")
            )
        })
        .collect();
    writeln!(out, "## alembic-lsp\n")?;
    let counts = if report.findings.is_empty() {
        "✅ no findings".to_owned()
    } else {
        let mark = if errors > 0 { "❌" } else { "⚠️" };
        format!(
            "{mark} **{}**, {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(infos, "info")
        )
    };
    writeln!(
        out,
        "{counts} in {} ({})",
        plural(report.files, "file"),
        graphs.join("; ")
    )?;

    let mut findings = report.findings.iter().peekable();
    while let Some(first) = findings.peek() {
        let path = first.path.clone();
        writeln!(out, "\n### `{}`\n", path.replace('`', "'"))?;
        writeln!(out, "| Severity | Rule | Line | Message |")?;
        writeln!(out, "| --- | --- | --- | --- |")?;
        while let Some(f) = findings.next_if(|f| f.path == path) {
            writeln!(
                out,
                "| {} | [{}]({}) {} | {}:{} | {} |",
                severity_label(f.severity),
                f.rule.code,
                f.rule.url(),
                f.rule.name,
                f.start.line,
                f.start.column,
                cell(&f.message)
            )?;
        }
    }

    let mut fired: Vec<&Rule> = report.findings.iter().map(|f| f.rule).collect();
    fired.sort_by_key(|r| r.code);
    fired.dedup_by_key(|r| r.code);
    if !fired.is_empty() {
        writeln!(
            out,
            "\n<details>\n<summary>What the rules check ({})</summary>",
            fired.len()
        )?;
        for rule in fired {
            writeln!(out, "\n### {} {}\n", rule.code, rule.name)?;
            if let Some(tag) = rule.tag {
                writeln!(out, "Approval tag: `# {tag}`\n")?;
            }
            writeln!(out, "{}", explanation(rule))?;
        }
        writeln!(out, "\n</details>")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(
            cell("a | b\nc <script> `x<y|z`"),
            "a \\| b c &lt;script&gt; `x<y\\|z`"
        );
    }

    #[test]
    fn headings_outside_code_are_demoted() {
        let rule = crate::rules::by_code("MG201").unwrap();
        let text = explanation(rule);
        assert!(text.starts_with("**What it does**\n\n"));
        assert!(!text.contains("\n## "));
    }
}
