//! The command line: `--check` and its output formats, `--explain`,
//! `--list-rules`. The only part of the tool that knows about terminals and
//! report formats.

mod github;
mod gitlab;
mod json;
pub mod report;
mod sarif;
mod text;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::config::Config;
use crate::discovery::{self, ProjectSpec};
use crate::project::{self, FileInput, Project};
use crate::rules;
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
    /// Report only on migrations added or changed since this git revision (merge base).
    #[arg(long, value_name = "REF", requires = "check")]
    pub diff: Option<String>,
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
    if args.diff.is_some() {
        return Err(Fatal("--diff is not available in this build yet".into()));
    }

    let specs: Vec<ProjectSpec> = if !args.paths.is_empty() {
        vec![discovery::from_paths(&args.paths)?]
    } else if !config.paths.is_empty() {
        vec![discovery::from_paths(&config.paths)?]
    } else {
        discovery::discover(&cwd)?
    };

    let mut report = Report::new(&cwd);
    for spec in specs {
        let project = Project::load(spec);
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
        let analysis = project::analyze(&inputs, &config);
        report.add_graph(&project, &inputs, analysis);
    }
    report.sort();

    let stdout = std::io::stdout();
    let color = if args.no_color {
        anstream::ColorChoice::Never
    } else {
        anstream::ColorChoice::Auto
    };
    let mut out = anstream::AutoStream::new(stdout.lock(), color);
    write_report(args.format, &mut out, &report)?;
    out.flush()?;
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
    }
}
