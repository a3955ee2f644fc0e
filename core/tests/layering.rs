//! The core's layer order, enforced: a module may use only layers below it.
//!
//! `protocol` < `correlation` < `connection` < `health` < `cluster`;
//! `observe` is usable by every layer and itself uses only `protocol`;
//! `typed` (serde views of frames) uses only `protocol` and nothing uses it.
//! The test reads every source file under `core/src/<layer>/` (or
//! `core/src/<layer>.rs`), collects each path that leaves the layer
//! (`crate::x`, `crate::{x, y}`, or enough `super::` to reach the crate root),
//! and fails on any path into a higher layer or into an unranked module.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first.
const ORDER: [&str; 5] = ["protocol", "correlation", "connection", "health", "cluster"];
/// Usable by all; may itself use only these.
const OBSERVE: &str = "observe";
const OBSERVE_MAY_USE: [&str; 1] = ["protocol"];
/// An adapter over the protocol (typed frames through serde): uses only
/// `protocol`, and no layer depends on it.
const TYPED: &str = "typed";

fn rank(layer: &str) -> Option<usize> {
    ORDER.iter().position(|name| *name == layer)
}

/// Whether code in `from` may name `to`.
fn allowed(from: &str, to: &str) -> Result<bool, String> {
    if from == to {
        return Ok(true);
    }
    if from == OBSERVE {
        return Ok(OBSERVE_MAY_USE.contains(&to));
    }
    if from == TYPED {
        return Ok(to == "protocol");
    }
    if to == TYPED {
        return Ok(false);
    }
    if to == OBSERVE {
        return Ok(true);
    }
    let from_rank =
        rank(from).ok_or_else(|| format!("module `{from}` has no place in the layer order"))?;
    let to_rank =
        rank(to).ok_or_else(|| format!("module `{to}` has no place in the layer order"))?;
    Ok(to_rank < from_rank)
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Top-level names after `crate::` in one line: `crate::x` or `crate::{x, y::z}`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `apn_ami_crate::…` or similar, not the crate root
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        found.push(identifier(&group[index..]).to_owned());
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(rest).to_owned());
        }
    }
    found
}

/// Top-level names reached through `super::` chains from a file whose
/// module path below the crate root has `depth` segments.
fn super_paths(line: &str, depth: usize) -> Vec<String> {
    let climb = "super::".repeat(depth);
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(&climb) {
        rest = &rest[at + climb.len()..];
        let name = identifier(rest);
        if !name.is_empty() && name != "super" {
            found.push(name.to_owned());
        }
    }
    found
}

/// The file's code with line comments removed, as one string, so a
/// `use crate::{…}` group that rustfmt spreads over lines is read whole.
fn code_of(source: &str) -> String {
    source
        .lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every violation in one file's source, as readable messages.
fn violations(relative: &Path, source: &str) -> Vec<String> {
    let components: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    let layer = components[0].clone();
    let depth = components.len() - usize::from(components.last().is_some_and(|last| last == "mod"));
    let code = code_of(source);
    let mut targets = crate_paths(&code);
    targets.extend(super_paths(&code, depth));
    let mut problems = Vec::new();
    if rank(&layer).is_none() && layer != OBSERVE && layer != TYPED {
        problems.push(format!("module `{layer}` has no place in the layer order"));
    }
    for target in targets {
        match allowed(&layer, &target) {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "{}: layer `{layer}` uses higher layer `{target}`",
                relative.display()
            )),
            Err(message) => problems.push(format!("{}: {message}", relative.display())),
        }
    }
    problems
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("core/src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_modules_use_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("below src");
        if relative == Path::new("lib.rs") {
            continue;
        }
        let source = fs::read_to_string(file).expect("source is UTF-8");
        problems.extend(violations(relative, &source));
        checked += 1;
    }
    assert!(
        checked >= 8,
        "the walk found the protocol layer's files ({checked})"
    );
    assert!(
        problems.is_empty(),
        "layer violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn checker_flags_upward_uses() {
    let upward = violations(
        Path::new("protocol/frame.rs"),
        "use crate::cluster::Cluster;",
    );
    assert_eq!(
        upward,
        ["protocol/frame.rs: layer `protocol` uses higher layer `cluster`"]
    );
    let grouped = violations(
        Path::new("correlation/pending.rs"),
        "use crate::{\n    observe::Log,\n    protocol::{Frame, Value},\n    connection::Session, // why\n};",
    );
    assert_eq!(
        grouped,
        ["correlation/pending.rs: layer `correlation` uses higher layer `connection`"]
    );
    let inline = violations(
        Path::new("health/mod.rs"),
        "fn f() {\n    let x = crate::cluster::pick();\n}",
    );
    assert_eq!(inline.len(), 1);
    let climbing = violations(
        Path::new("connection/a/b.rs"),
        "use super::super::super::health::Breaker;",
    );
    assert_eq!(climbing.len(), 1, "{climbing:?}");
    let from_mod = violations(Path::new("health/mod.rs"), "use super::cluster::Router;");
    assert_eq!(from_mod.len(), 1, "{from_mod:?}");
    let observe = violations(
        Path::new("observe/log.rs"),
        "use crate::correlation::ActionId;",
    );
    assert_eq!(observe.len(), 1);
    let unknown = violations(Path::new("runtime/x.rs"), "");
    assert_eq!(
        unknown,
        ["module `runtime` has no place in the layer order"]
    );
    let unranked_target = violations(Path::new("cluster/x.rs"), "use crate::sockets::Tcp;");
    assert_eq!(
        unranked_target,
        ["cluster/x.rs: module `sockets` has no place in the layer order"]
    );
}

#[test]
fn checker_allows_downward_and_observe() {
    for (path, line) in [
        (
            "cluster/router.rs",
            "use crate::{health::Monitor, protocol::Action, observe::Metrics};",
        ),
        ("correlation/mod.rs", "use super::protocol::Frame;"),
        (
            "correlation/pending.rs",
            "use super::registry::Pending; use crate::correlation::Id;",
        ),
        ("observe/log.rs", "use crate::protocol::Value;"),
        (
            "protocol/frame.rs",
            "// a comment naming crate::cluster is not a use",
        ),
        ("protocol/frame.rs", "use apn_ami_crate::cluster;"),
    ] {
        assert!(
            violations(Path::new(path), line).is_empty(),
            "{path}: {line}"
        );
    }
}
