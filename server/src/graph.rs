//! The revision graph, built exactly as Alembic 1.20's `RevisionMap` builds
//! it (alembic/script/revision.py): heads, effective heads, bases, merge and
//! branch points, branch-label propagation, dependency resolution, and the
//! ways Alembic refuses to load a graph. Every case of
//! `../shared/alembic-semantics` is a test of this module.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::migration::IdLit;
use crate::position::TextRange;

/// One revision as read from a file, in Alembic's load order.
#[derive(Clone, Debug)]
pub struct RevisionInput {
    /// Caller's handle for the file.
    pub file: usize,
    pub id: IdLit,
    /// `None` when the value could not be read (MG002).
    pub down_revision: Option<Vec<IdLit>>,
    pub depends_on: Option<Vec<IdLit>>,
    pub branch_labels: Option<Vec<IdLit>>,
}

#[derive(Clone, Debug)]
pub struct Revision {
    pub input: RevisionInput,
    /// A later file declares the same id; this one is out of the map but
    /// stays a head, as in Alembic.
    pub shadowed: bool,
    /// Children through `down_revision`.
    pub children: Vec<usize>,
    /// Children through `down_revision` or `depends_on`.
    pub dependents: Vec<usize>,
    pub parents: Vec<usize>,
    pub dependencies: Vec<usize>,
    /// Labels declared here and propagated from relatives (shared along chains).
    pub branch_labels: Arc<BTreeSet<String>>,
}

impl Revision {
    pub fn id(&self) -> &str {
        &self.input.id.value
    }

    pub fn is_merge_point(&self) -> bool {
        self.input
            .down_revision
            .as_ref()
            .is_some_and(|d| d.len() > 1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphProblem {
    /// `down_revision` or `depends_on` names an id that is not there.
    Missing {
        revision: usize,
        name: IdLit,
        in_depends_on: bool,
    },
    Duplicate {
        revisions: Vec<usize>,
    },
    /// Alembic's `CycleDetected` / `DependencyCycleDetected`: revisions not
    /// reachable both from a head and from a base.
    Cycle {
        revisions: Vec<usize>,
        through_depends_on: bool,
    },
    SelfLoop {
        revision: usize,
        name: IdLit,
        in_depends_on: bool,
    },
    LabelConflict {
        revision: usize,
        label: IdLit,
        /// The revision that already uses the name (label or id).
        other: usize,
        other_is_id: bool,
    },
    IllegalCharacters {
        revision: usize,
        characters: String,
    },
}

impl GraphProblem {
    /// Whether Alembic refuses to load the graph because of it.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, GraphProblem::Duplicate { .. })
    }
}

/// Maps keyed by revision ids and labels. Their texts come from the user's
/// own files, so a fast hasher without DoS resistance is the right trade.
pub type IdMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// A built graph. Revisions and the id map are shared (`Arc`), so a copy
/// with one file's declarations moved ([`RevisionGraph::moved`]) costs a
/// pointer per revision, not a rebuild.
#[derive(Clone, Debug, Default)]
pub struct RevisionGraph {
    pub revisions: Vec<Arc<Revision>>,
    /// Id (the winner of duplicates) → index.
    pub by_id: Arc<IdMap<usize>>,
    pub heads: Vec<usize>,
    pub effective_heads: Vec<usize>,
    pub bases: Vec<usize>,
    pub merges: Vec<usize>,
    pub branch_points: Vec<usize>,
    pub problems: Vec<GraphProblem>,
    /// Some `down_revision` / `depends_on` could not be read: heads may be
    /// missing an edge, so head-count rules stay quiet.
    pub complete: bool,
}

/// The graph while it is built: revisions owned and mutable, shared once done.
#[derive(Default)]
struct Draft {
    revisions: Vec<Revision>,
    by_id: IdMap<usize>,
    heads: Vec<usize>,
    effective_heads: Vec<usize>,
    bases: Vec<usize>,
    merges: Vec<usize>,
    branch_points: Vec<usize>,
    problems: Vec<GraphProblem>,
    complete: bool,
}

const ILLEGAL_ID_CHARACTERS: [char; 4] = ['@', '-', '+', ':'];

impl RevisionGraph {
    /// Whether Alembic would load this graph.
    pub fn ok(&self) -> bool {
        !self.problems.iter().any(GraphProblem::is_fatal)
    }

    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.by_id.get(id).map(|&i| self.revisions[i].as_ref())
    }

    /// Number of distinct revision ids (what Alembic's map holds).
    pub fn revision_count(&self) -> usize {
        self.by_id.len()
    }

    /// Heads carrying a branch label.
    pub fn label_heads(&self, label: &str) -> Vec<usize> {
        self.heads
            .iter()
            .copied()
            .filter(|&h| self.revisions[h].branch_labels.contains(label))
            .collect()
    }

    /// This graph with some revisions declared at new positions: each input
    /// replaces the revision of its file, and must hold the same values as
    /// before (a line typed above the declarations moves only their ranges).
    /// Equal to [`RevisionGraph::build`] of the new inputs, since the build
    /// reads only values; `None` if a value differs or a file had no revision.
    pub fn moved(&self, inputs: Vec<RevisionInput>) -> Option<RevisionGraph> {
        let mut graph = self.clone();
        for input in inputs {
            // Revisions are in file order (the build keeps its inputs' order).
            let index = self
                .revisions
                .binary_search_by_key(&input.file, |r| r.input.file)
                .ok()?;
            let old = &self.revisions[index].input;
            let moves = moved_literals(old, &input)?;
            for problem in &mut graph.problems {
                let (revision, literal) = match problem {
                    GraphProblem::Missing { revision, name, .. }
                    | GraphProblem::SelfLoop { revision, name, .. } => (*revision, name),
                    GraphProblem::LabelConflict {
                        revision, label, ..
                    } => (*revision, label),
                    _ => continue,
                };
                if revision != index {
                    continue;
                }
                if let Some(&(_, to)) = moves.iter().find(|(from, _)| *from == literal.range) {
                    literal.range = to;
                }
            }
            graph.revisions[index] = Arc::new(Revision {
                input,
                ..Revision::clone(&self.revisions[index])
            });
        }
        Some(graph)
    }

    pub fn build(inputs: Vec<RevisionInput>) -> RevisionGraph {
        let mut graph = Draft {
            complete: true,
            ..Draft::default()
        };
        graph.revisions = inputs
            .into_iter()
            .map(|input| Revision {
                input,
                shadowed: false,
                children: Vec::new(),
                dependents: Vec::new(),
                parents: Vec::new(),
                dependencies: Vec::new(),
                branch_labels: Arc::default(),
            })
            .collect();
        graph.check_each_revision();
        graph.map_ids();
        let labels = graph.map_branch_labels();
        graph.link(&labels);
        graph.find_heads_and_bases();
        graph.detect_cycles();
        graph.propagate_labels();
        RevisionGraph {
            revisions: graph.revisions.into_iter().map(Arc::new).collect(),
            by_id: Arc::new(graph.by_id),
            heads: graph.heads,
            effective_heads: graph.effective_heads,
            bases: graph.bases,
            merges: graph.merges,
            branch_points: graph.branch_points,
            problems: graph.problems,
            complete: graph.complete,
        }
    }
}

impl Draft {
    /// `Revision.__init__`: self-loops and illegal characters.
    fn check_each_revision(&mut self) {
        for (index, rev) in self.revisions.iter().enumerate() {
            let id = &rev.input.id.value;
            for (list, in_depends_on) in [
                (&rev.input.down_revision, false),
                (&rev.input.depends_on, true),
            ] {
                if let Some(name) = list.iter().flatten().find(|n| n.value == *id) {
                    self.problems.push(GraphProblem::SelfLoop {
                        revision: index,
                        name: name.clone(),
                        in_depends_on,
                    });
                }
            }
            if id.contains(ILLEGAL_ID_CHARACTERS) {
                let illegal: String = ILLEGAL_ID_CHARACTERS
                    .iter()
                    .filter(|c| id.contains(**c))
                    .collect();
                self.problems.push(GraphProblem::IllegalCharacters {
                    revision: index,
                    characters: illegal,
                });
            }
            if rev.input.down_revision.is_none() || rev.input.depends_on.is_none() {
                self.complete = false;
            }
        }
    }

    /// The later of two files with one id wins (Alembic's dict assignment);
    /// the earlier is shadowed. Duplicates are reported in load order.
    fn map_ids(&mut self) {
        let mut duplicates: IdMap<Vec<usize>> = IdMap::default();
        for index in 0..self.revisions.len() {
            let id = self.revisions[index].id().to_owned();
            match self.by_id.entry(id) {
                Entry::Vacant(entry) => {
                    entry.insert(index);
                }
                Entry::Occupied(mut entry) => {
                    let earlier = entry.insert(index);
                    self.revisions[earlier].shadowed = true;
                    duplicates
                        .entry(entry.key().clone())
                        .or_insert_with(|| vec![earlier])
                        .push(index);
                }
            }
        }
        let mut duplicates: Vec<Vec<usize>> = duplicates.into_values().collect();
        duplicates.sort_by_key(|revisions| revisions[0]);
        self.problems.extend(
            duplicates
                .into_iter()
                .map(|revisions| GraphProblem::Duplicate { revisions }),
        );
    }

    /// `_map_branch_labels`: a label may not repeat a revision id or another label.
    fn map_branch_labels(&mut self) -> IdMap<usize> {
        let mut labels: IdMap<usize> = IdMap::default();
        for index in 0..self.revisions.len() {
            let declared = self.revisions[index]
                .input
                .branch_labels
                .clone()
                .unwrap_or_default();
            for label in declared {
                if let Some(&other) = self.by_id.get(&label.value) {
                    self.problems.push(GraphProblem::LabelConflict {
                        revision: index,
                        label,
                        other,
                        other_is_id: true,
                    });
                } else if let Some(&other) = labels.get(&label.value) {
                    self.problems.push(GraphProblem::LabelConflict {
                        revision: index,
                        label,
                        other,
                        other_is_id: false,
                    });
                } else {
                    labels.insert(label.value.clone(), index);
                }
            }
        }
        labels
    }

    /// `_add_depends_on` and the down-revision loop: resolve every name,
    /// reporting the ones Alembic would fail on with `KeyError`.
    fn link(&mut self, labels: &IdMap<usize>) {
        for index in 0..self.revisions.len() {
            let rev = &self.revisions[index];
            let mut dependencies = Vec::new();
            for name in rev.input.depends_on.iter().flatten() {
                match self
                    .by_id
                    .get(&name.value)
                    .or_else(|| labels.get(&name.value))
                {
                    Some(&target) => dependencies.push(target),
                    None => self.problems.push(GraphProblem::Missing {
                        revision: index,
                        name: name.clone(),
                        in_depends_on: true,
                    }),
                }
            }
            let mut parents = Vec::new();
            if !rev.shadowed {
                for name in rev.input.down_revision.iter().flatten() {
                    match self
                        .by_id
                        .get(&name.value)
                        .or_else(|| labels.get(&name.value))
                    {
                        Some(&target) => push_unique(&mut parents, target),
                        None => self.problems.push(GraphProblem::Missing {
                            revision: index,
                            name: name.clone(),
                            in_depends_on: false,
                        }),
                    }
                }
            } else {
                // Alembic never walks a shadowed revision's edges.
                dependencies.clear();
            }
            for &p in &parents {
                push_unique(&mut self.revisions[p].children, index);
                push_unique(&mut self.revisions[p].dependents, index);
            }
            for &d in &dependencies {
                push_unique(&mut self.revisions[d].dependents, index);
            }
            let rev = &mut self.revisions[index];
            rev.parents = parents;
            rev.dependencies = dependencies;
        }
    }

    fn find_heads_and_bases(&mut self) {
        for (index, rev) in self.revisions.iter().enumerate() {
            let shadowed_or = |edges: &Vec<usize>| rev.shadowed || edges.is_empty();
            if shadowed_or(&rev.children) {
                self.heads.push(index);
            }
            if shadowed_or(&rev.dependents) {
                self.effective_heads.push(index);
            }
            if rev.input.down_revision.as_ref().is_some_and(Vec::is_empty) {
                self.bases.push(index);
            }
            if rev.shadowed {
                continue;
            }
            if rev.is_merge_point() {
                self.merges.push(index);
            }
            if rev.children.len() > 1 {
                self.branch_points.push(index);
            }
        }
    }

    /// `_detect_cycles`: whatever is not reachable both down from a head and
    /// up from a base is in (or hangs off) a cycle.
    fn detect_cycles(&mut self) {
        if self.revisions.is_empty() {
            return;
        }
        // A revision whose parents are unknown or missing (reported on their
        // own) roots its own part of the graph, so it is not also a "cycle".
        let n = self.revisions.len();
        let mut broken = vec![false; n];
        for p in &self.problems {
            if let GraphProblem::Missing { revision, .. } = p {
                broken[*revision] = true;
            }
        }
        let unknown: Vec<usize> = (0..n)
            .filter(|&i| self.revisions[i].input.down_revision.is_none() || broken[i])
            .collect();
        // The map's revisions: the winner of each id.
        let winners = || (0..n).filter(|&i| !self.revisions[i].shadowed);
        for through_depends_on in [false, true] {
            let (heads, mut bases): (&Vec<usize>, Vec<usize>) = if through_depends_on {
                let real_bases = (0..self.revisions.len())
                    .filter(|&i| {
                        let input = &self.revisions[i].input;
                        input.down_revision.as_ref().is_some_and(Vec::is_empty)
                            && input.depends_on.as_ref().is_some_and(Vec::is_empty)
                    })
                    .collect();
                (&self.effective_heads, real_bases)
            } else {
                (&self.heads, self.bases.clone())
            };
            bases.extend(unknown.iter().copied());
            let members: Vec<usize> = if heads.is_empty() || bases.is_empty() {
                winners().collect()
            } else {
                let down = self.reach(heads, |r, todo| {
                    todo.extend(&r.parents);
                    if through_depends_on {
                        todo.extend(&r.dependencies);
                    }
                });
                let up = self.reach(&bases, |r, todo| {
                    todo.extend(if through_depends_on {
                        &r.dependents
                    } else {
                        &r.children
                    });
                });
                // Alembic compares ids: a shadowed revision in the space
                // puts its id's winner there.
                let mut space = vec![false; n];
                for i in (0..n).filter(|&i| down[i] && up[i]) {
                    let rev = &self.revisions[i];
                    let winner = match rev.shadowed {
                        true => self.by_id[rev.id()],
                        false => i,
                    };
                    space[winner] = true;
                }
                winners().filter(|&i| !space[i]).collect()
            };
            if !members.is_empty() {
                let mut members = members;
                members.sort_by(|a, b| self.revisions[*a].id().cmp(self.revisions[*b].id()));
                self.problems.push(GraphProblem::Cycle {
                    revisions: members,
                    through_depends_on,
                });
                // Alembic stops at the first kind of cycle it finds.
                return;
            }
        }
    }

    fn reach(&self, from: &[usize], next: impl Fn(&Revision, &mut Vec<usize>)) -> Vec<bool> {
        let mut seen = vec![false; self.revisions.len()];
        let mut todo: Vec<usize> = from.to_vec();
        while let Some(i) = todo.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                next(&self.revisions[i], &mut todo);
            }
        }
        seen
    }

    /// `_add_branches`: a label applies to its revision, every descendant,
    /// and ancestors back to (not including) a branch or merge point.
    fn propagate_labels(&mut self) {
        // Descendants: in topological order, a revision's labels are its own
        // plus its parents' (a chain shares one set until a label is added).
        let n = self.revisions.len();
        let mut pending: Vec<usize> = self.revisions.iter().map(|r| r.parents.len()).collect();
        let mut todo: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let empty = Arc::new(BTreeSet::new());
        let mut sets: Vec<Option<Arc<BTreeSet<String>>>> = vec![None; n];
        while let Some(i) = todo.pop() {
            let rev = &self.revisions[i];
            let mut set = match rev.parents.as_slice() {
                [] => empty.clone(),
                [only] => sets[*only].clone().unwrap_or_else(|| empty.clone()),
                many => {
                    let mut union = BTreeSet::new();
                    for p in many {
                        if let Some(s) = &sets[*p] {
                            union.extend(s.iter().cloned());
                        }
                    }
                    Arc::new(union)
                }
            };
            for label in rev.input.branch_labels.iter().flatten() {
                if !set.contains(&label.value) {
                    Arc::make_mut(&mut set).insert(label.value.clone());
                }
            }
            sets[i] = Some(set);
            for &child in &self.revisions[i].children {
                pending[child] -= 1;
                if pending[child] == 0 {
                    todo.push(child);
                }
            }
        }
        for (rev, set) in self.revisions.iter_mut().zip(sets) {
            rev.branch_labels = set.unwrap_or_else(|| empty.clone());
        }
        // Ancestors: back to (not including) a branch or merge point.
        for index in 0..n {
            let labels: Vec<String> = self.revisions[index]
                .input
                .branch_labels
                .iter()
                .flatten()
                .map(|l| l.value.clone())
                .collect();
            if labels.is_empty() {
                continue;
            }
            let mut parent = Some(index);
            let mut steps = 0;
            while let Some(p) = parent {
                let rev = &self.revisions[p];
                if rev.dependents.len() > 1 || rev.is_merge_point() || steps > n {
                    break;
                }
                steps += 1;
                if labels.iter().any(|l| !rev.branch_labels.contains(l)) {
                    Arc::make_mut(&mut self.revisions[p].branch_labels)
                        .extend(labels.iter().cloned());
                }
                parent = self.revisions[p].parents.first().copied();
            }
        }
    }
}

/// Where each literal of `old` went in `new`, if both hold the same values
/// in the same order (`None` otherwise).
fn moved_literals(old: &RevisionInput, new: &RevisionInput) -> Option<Vec<(TextRange, TextRange)>> {
    if old.id.value != new.id.value {
        return None;
    }
    let mut moves = vec![(old.id.range, new.id.range)];
    for (a, b) in [
        (&old.down_revision, &new.down_revision),
        (&old.depends_on, &new.depends_on),
        (&old.branch_labels, &new.branch_labels),
    ] {
        match (a, b) {
            (None, None) => {}
            (Some(a), Some(b)) if a.len() == b.len() => {
                for (a, b) in a.iter().zip(b) {
                    if a.value != b.value {
                        return None;
                    }
                    moves.push((a.range, b.range));
                }
            }
            _ => return None,
        }
    }
    Some(moves)
}

fn push_unique(list: &mut Vec<usize>, item: usize) {
    if !list.contains(&item) {
        list.push(item);
    }
}
