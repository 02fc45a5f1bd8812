//! The command line: `--check` and its output formats, `--explain`,
//! `--list-rules`. The only part of the tool that knows about terminals and
//! report formats.

mod approve;
mod diff;
mod github;
mod gitlab;
mod json;
mod markdown;
pub mod report;
mod sarif;
mod text;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

use crate::config::Config;
use crate::discovery::{self, ProjectSpec};
use crate::project::{self, Analysis, FileInput, Project};
use crate::rules::{self, mg402_one_migration_per_change as mg402};
use diff::ChangedFiles;
use report::Report;

#[derive(Parser, Debug)]
#[command(
    name = "alembic-lsp",
    version,
    about = "Language server and CI checker for Alembic migrations",
    after_help = "With no option (or --stdio) it runs the language server on stdin/stdout."
)]
pub struct Args {
    /// Check migrations and exit (the CI / pre-commit mode).
    #[arg(long)]
    pub check: bool,
    /// Files or folders to check (with --check); all of them form one revision graph.
    #[arg(requires = "check")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, requires = "check")]
    pub format: Format,
    /// Rule codes or prefixes to enable, comma-separated (added to the configuration's).
    #[arg(long, value_delimiter = ',', requires = "check")]
    pub select: Vec<String>,
    /// Rule codes or prefixes to disable, comma-separated (added to the configuration's).
    #[arg(long, value_delimiter = ',', requires = "check")]
    pub ignore: Vec<String>,
    /// Report only on migrations added or changed since the merge base of this git
    /// revision and HEAD (working tree and untracked files included), and check MG402.
    #[arg(long, value_name = "REF", requires = "check")]
    pub diff: Option<String>,
    /// Insert the approval tag of every finding that has one, then report
    /// what is left (once, after review, when adopting the tool).
    #[arg(long, requires = "check")]
    pub add_approvals: bool,
    /// Exit 1 on warnings too.
    #[arg(long, requires = "check")]
    pub strict: bool,
    /// Configuration file to use instead of the discovered one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never colour the output.
    #[arg(long)]
    pub no_color: bool,
    /// Print a rule's explanation.
    #[arg(long, value_name = "CODE", conflicts_with = "check")]
    pub explain: Option<String>,
    /// List every rule.
    #[arg(long, conflicts_with = "check")]
    pub list_rules: bool,
    /// Run the language server on stdin/stdout (the default). Clients may
    /// pass it more than once (vscode-languageclient adds its own).
    #[arg(long, conflicts_with = "check", overrides_with = "stdio")]
    pub stdio: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Gitlab,
    Markdown,
}

/// A usage, configuration or I/O error: one line on stderr, exit 2.
#[derive(Debug)]
pub struct Fatal(pub String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

pub fn explain(code: &str) -> Result<(), Fatal> {
    let rule = rules::by_code(code)
        .ok_or_else(|| Fatal(format!("unknown rule `{code}` (see --list-rules)")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} ({}) — default severity: {}",
        rule.code,
        rule.name,
        rule.default_severity.as_str()
    )?;
    if let Some(tag) = rule.tag {
        writeln!(out, "Approval tag: `# {tag}`")?;
    }
    writeln!(out, "\n{}", rule.explanation())?;
    Ok(())
}

pub fn list_rules() -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    for rule in rules::ALL {
        let tag = rule.tag.map(|t| format!("  # {t}")).unwrap_or_default();
        writeln!(
            out,
            "{}  {:<28} {:<8} {}{}",
            rule.code,
            rule.name,
            rule.default_severity.as_str(),
            rule.summary,
            tag
        )?;
    }
    Ok(())
}

/// `--check`: returns the exit code (0 or 1); errors are exit 2.
pub fn check(args: &Args) -> Result<i32, Fatal> {
    let cwd = std::env::current_dir()?;
    let mut config = match &args.config {
        Some(file) => Config::load(file)?,
        None => {
            let start = args.paths.first().cloned().unwrap_or_else(|| cwd.clone());
            Config::discover(&start)?
        }
    };
    config.add_selectors(&args.select, &args.ignore)?;

    let specs: Vec<ProjectSpec> = if !args.paths.is_empty() {
        vec![discovery::from_paths(&args.paths)?]
    } else if !config.paths.is_empty() {
        vec![discovery::from_paths(&config.paths)?]
    } else {
        discovery::discover(&cwd)?
    };
    let changes = match &args.diff {
        Some(reference) => {
            let dir = match args.paths.first() {
                Some(p) if p.is_dir() => p.clone(),
                Some(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
                None => cwd.clone(),
            };
            let dir = if dir.as_os_str().is_empty() {
                cwd.clone()
            } else {
                dir
            };
            Some(ChangedFiles::since(reference, &dir)?)
        }
        None => None,
    };

    let mut report = Report::new(&cwd);
    let mut summary = mg402::ChangeSummary {
        reference: args.diff.clone().unwrap_or_default(),
        ..Default::default()
    };
    let mut migrations = HashSet::new();
    for spec in specs {
        let (mut project, mut per_file) = Project::load_checked(spec, &config);
        let paths: Vec<PathBuf> = project
            .files
            .iter()
            .map(|f| diff::normalize(&f.path))
            .collect();
        let touched: Option<Vec<bool>> = changes
            .as_ref()
            .map(|c| paths.iter().map(|p| c.touches(p)).collect());
        if args.add_approvals {
            let (_, analysis) = analyze(&project, per_file, &report, &config, touched.as_deref());
            let written = approve::add_approvals(&project, &analysis)?;
            if written.tags > 0 {
                eprintln!(
                    "alembic-lsp: added {} approval tag{} to {} file{}",
                    written.tags,
                    if written.tags == 1 { "" } else { "s" },
                    written.files,
                    if written.files == 1 { "" } else { "s" }
                );
            }
            // Again, with the tags written (or as they were).
            (project, per_file) = Project::load_checked(project.spec, &config);
        }
        let (inputs, analysis) = analyze(&project, per_file, &report, &config, touched.as_deref());
        if let Some(changes) = &changes {
            summary.added.push(
                project
                    .files
                    .iter()
                    .zip(&paths)
                    .filter(|(_, p)| changes.added.contains(*p))
                    .map(|(f, _)| report.display_path(&f.path))
                    .collect(),
            );
            migrations.extend(paths);
        }
        report.add_graph(&project, &inputs, analysis);
    }
    if let (Some(changes), Some(severity)) = (&changes, config.severity_of(&mg402::RULE)) {
        summary.schema_changed = diff::schema_files(&config, changes, &migrations, &report)?;
        for v in mg402::check(&summary) {
            report.add_file_finding(v.path, &mg402::RULE, severity, v.message);
        }
    }
    report.sort();

    let stdout = std::io::stdout();
    let color = if args.no_color {
        anstream::ColorChoice::Never
    } else {
        anstream::ColorChoice::Auto
    };
    if args.format == Format::Text {
        let mut out = anstream::AutoStream::new(stdout.lock(), color);
        write_report(args.format, &mut out, &report)?;
        out.flush()?;
    } else {
        // Machine formats carry no colour: no need to scan them for escapes.
        let mut out = std::io::BufWriter::new(stdout.lock());
        write_report(args.format, &mut out, &report)?;
        out.flush()?;
    }
    Ok(report.exit_code(args.strict))
}

/// Renders a report in one format.
pub fn write_report(format: Format, out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    match format {
        Format::Text => text::write(out, report),
        Format::Json => json::write(out, report),
        Format::Sarif => sarif::write(out, report),
        Format::Github => github::write(out, report),
        Format::Gitlab => gitlab::write(out, report),
        Format::Markdown => markdown::write(out, report),
    }
}

/// Analyses one graph; with `--diff` (`touched` per file), keeps only the
/// findings that belong to the change.
fn analyze<'p>(
    project: &'p Project,
    per_file: Vec<Vec<crate::diagnostic::Diagnostic>>,
    report: &Report,
    config: &Config,
    touched: Option<&[bool]>,
) -> (Vec<FileInput<'p>>, Analysis) {
    let inputs: Vec<FileInput> = project
        .files
        .iter()
        .map(|f| FileInput {
            name: f.file_name(),
            display: report.display_path(&f.path),
            migration: &f.migration,
            read_error: f.read_error.as_deref(),
        })
        .collect();
    let mut analysis = project::analyze_checked(&inputs, per_file, config);
    if let Some(touched) = touched {
        let graph_findings = project::graph_diagnostics(&analysis.graph, &inputs, config);
        diff::retain_changed(&mut analysis, &graph_findings, touched);
    }
    (inputs, analysis)
}
