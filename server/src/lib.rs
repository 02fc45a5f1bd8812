//! alembic-lsp: a language server and CI checker for Alembic migrations.
//!
//! The pipeline, in the order of the modules: text ([`source`]) → parsed
//! migration ([`syntax`], [`migration`]) → project (files found by
//! [`discovery`], configured by [`config`], linked into a [`graph`]) →
//! [`rules`] → [`diagnostic`]s with fixes → the two front ends, [`cli`]
//! (`--check`) and [`lsp`].

pub mod position;
pub mod source;
pub mod syntax;
pub mod migration;
pub mod graph;
pub mod config;
pub mod diagnostic;
pub mod discovery;
pub mod project;
#[macro_use]
pub mod rules;
pub mod cli;
pub mod lsp;
