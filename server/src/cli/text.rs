//! `--format text`: rustc / ruff style blocks, colour only on a terminal.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::report::{Finding, Report};
use crate::diagnostic::Severity;

const BOLD: Style = Style::new().bold();
const BLUE: Style = AnsiColor::Blue.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default();

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => AnsiColor::Red.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
        Severity::Info => AnsiColor::Cyan.on_default().bold(),
    }
}

fn block(out: &mut dyn Write, f: &Finding) -> std::io::Result<()> {
    let sev = severity_style(f.severity);
    writeln!(
        out,
        "{BOLD}{}:{}:{}:{BOLD:#} {sev}{}{sev:#} {}",
        f.path, f.start.line, f.start.column, f.rule.code, f.message
    )?;
    let number = f.start.line.to_string();
    let gutter = " ".repeat(number.len());
    let line = f.source_line.replace('\t', "    ");
    writeln!(out, "{BLUE}{gutter} |{BLUE:#}")?;
    writeln!(out, "{BLUE}{number} |{BLUE:#} {line}")?;
    let start = f.start.column.saturating_sub(1);
    let visible = f.source_line.chars().count();
    let width = if f.end.line == f.start.line {
        f.end.column.saturating_sub(f.start.column).max(1)
    } else {
        visible.saturating_sub(start).max(1)
    };
    let pad: String = f
        .source_line
        .chars()
        .take(start)
        .map(|c| if c == '\t' { "    " } else { " " })
        .collect();
    writeln!(
        out,
        "{BLUE}{gutter} |{BLUE:#} {pad}{sev}{}{sev:#} {sev}{}{sev:#}",
        "^".repeat(width),
        f.rule.name
    )?;
    if let Some(tag) = f.rule.tag {
        writeln!(out, "{BLUE}{gutter} ={BLUE:#} {CYAN}help{CYAN:#}: approve with `# {tag}` on or above the statement")?;
    } else if let Some(fix) = &f.fix {
        writeln!(
            out,
            "{BLUE}{gutter} ={BLUE:#} {CYAN}help{CYAN:#}: {}",
            fix.title
        )?;
    }
    writeln!(out)
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    for f in &report.findings {
        block(out, f)?;
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    let heads: Vec<String> = report
        .graphs
        .iter()
        .map(|g| {
            let status = if g.ok { "" } else { ", Alembic cannot load it" };
            format!(
                "{} revisions, {} head{}{status}",
                g.revisions,
                g.heads.len(),
                if g.heads.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    let style = if errors > 0 {
        severity_style(Severity::Error)
    } else if warnings > 0 {
        severity_style(Severity::Warning)
    } else {
        AnsiColor::Green.on_default().bold()
    };
    writeln!(
        out,
        "{style}{errors} error{}, {warnings} warning{}, {infos} info{}{style:#} in {} file{} ({})",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        if infos == 1 { "" } else { "s" },
        report.files,
        if report.files == 1 { "" } else { "s" },
        heads.join("; ")
    )
}
