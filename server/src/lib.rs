//! alembic-lsp: a language server and CI checker for Alembic migrations.
//!
//! The pipeline, in the order of the modules: text ([`source`]) → parsed
//! migration ([`syntax`], [`migration`]) → project (files found by
//! [`discovery`], configured by [`config`], linked into a [`graph`]) →
//! [`rules`] → [`diagnostic`]s with fixes → the two front ends, [`cli`]
//! (`--check`) and [`lsp`].

pub mod config;
pub mod diagnostic;
pub mod discovery;
pub mod graph;
pub mod migration;
pub mod position;
pub mod project;
pub mod source;
pub mod syntax;
#[macro_use]
pub mod rules;
pub mod cli;
pub mod lsp;
