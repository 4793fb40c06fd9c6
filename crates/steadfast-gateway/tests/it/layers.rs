//! The layers inside each crate, which the compiler does not keep (it keeps
//! those between crates): no cycle between the top-level modules of a crate,
//! nor between the files of one folder module (its `mod.rs` is the folder's
//! face and may re-export its parts, which may use it). Read from the
//! sources: `crate::` and `super::` paths outside comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module, as its path from the crate root (`["runtime", "target"]`).
type Module = Vec<String>;

/// Every workspace crate's source folder.
fn crate_sources() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|entry| entry.unwrap().path().join("src"))
        .filter(|src| src.join("lib.rs").exists())
        .collect();
    sources.sort();
    sources
}

/// The crate's files by module path.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            found.insert(module, without_comments(&text));
        }
    }
    found
}

/// `text` without `//` comments (doc links are no dependency).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `text`, the file of `module`, names through `crate::`
/// and `super::`, resolved from the crate root.
fn references(module: &Module, text: &str) -> BTreeSet<Module> {
    let mut found = BTreeSet::new();
    let starts =
        |at: usize| !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
    for (at, _) in text.match_indices("crate::") {
        if starts(at) {
            found.extend(paths_after(&text[at + "crate::".len()..]));
        }
    }
    for (at, _) in text.match_indices("super::") {
        if !starts(at) {
            continue;
        }
        // `super` of a file and of a folder's face alike is its parent.
        let (mut base, mut rest) = (module.clone(), &text[at..]);
        while let Some(after) = rest.strip_prefix("super::") {
            base.pop();
            rest = after;
        }
        for path in paths_after(rest) {
            found.insert(base.iter().cloned().chain(path).collect());
        }
    }
    found
}

/// The paths of a `use` tree or path expression starting at `text`:
/// `a::b::C` gives `a::b::C`; `{a, b::{c, d}}` gives `a`, `b::c`, `b::d`.
fn paths_after(text: &str) -> Vec<Module> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 1;
        let mut end = inner.len();
        for (index, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = index;
                        break;
                    }
                }
                _ => {}
            }
        }
        let mut paths = Vec::new();
        let mut part_start = 0;
        let mut depth = 0;
        let inner = &inner[..end];
        for (index, c) in inner.char_indices().chain([(inner.len(), ',')]) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    paths.extend(paths_after(&inner[part_start..index]));
                    part_start = index + 1;
                }
                _ => {}
            }
        }
        return paths;
    }
    let mut path = Module::new();
    let mut rest = text;
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() || ident == "self" {
            break;
        }
        rest = &rest[ident.len()..];
        path.push(ident);
        match rest.strip_prefix("::") {
            Some(after) if after.starts_with('{') => {
                return paths_after(after)
                    .into_iter()
                    .map(|tail| path.iter().cloned().chain(tail).collect())
                    .collect();
            }
            Some(after) => rest = after,
            None => break,
        }
    }
    if path.is_empty() {
        Vec::new()
    } else {
        vec![path]
    }
}

/// The longest known module that `path` starts with.
fn owner<'a>(modules: &'a BTreeMap<Module, String>, path: &Module) -> Option<&'a Module> {
    (0..=path.len()).rev().find_map(|len| {
        modules
            .get_key_value(&path[..len])
            .map(|(module, _)| module)
    })
}

/// A cycle in `edges`, as the nodes on it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

/// The module graph of one crate at one level: the edges between the
/// children of `parent` (the top-level modules for the root), each child
/// standing for itself and everything under it, the face of `parent` left out.
fn level(
    modules: &BTreeMap<Module, String>,
    parent: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let child = |module: &Module| -> Option<String> {
        (module.len() > parent.len() && module.starts_with(parent))
            .then(|| module[parent.len()].clone())
    };
    for (module, text) in modules {
        let Some(from) = child(module) else { continue };
        for reference in references(module, text) {
            let Some(target) = owner(modules, &reference) else {
                continue;
            };
            if let Some(to) = child(target).filter(|to| *to != from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

#[test]
fn no_crate_has_a_cycle_between_its_modules() {
    let (mut checked, mut cycles) = (0, Vec::new());
    for src in crate_sources() {
        let modules = modules(&src);
        let faces: BTreeSet<Module> = modules
            .keys()
            .filter(|module| {
                let mut folder = src.clone();
                folder.extend(module.iter());
                module.is_empty() || folder.join("mod.rs").exists()
            })
            .cloned()
            .collect();
        for parent in &faces {
            let mut edges = level(&modules, parent);
            checked += edges.len();
            // Every cycle, not just the first: cut each found and look again.
            while let Some(found) = cycle(&edges) {
                cycles.push(format!(
                    "{} {}: {}",
                    src.parent()
                        .and_then(Path::file_name)
                        .unwrap_or_default()
                        .to_string_lossy(),
                    if parent.is_empty() {
                        "(crate)".to_owned()
                    } else {
                        parent.join("::")
                    },
                    found.join(" -> ")
                ));
                if let Some(targets) = edges.get_mut(&found[0]) {
                    targets.remove(&found[1]);
                }
            }
        }
    }
    assert!(
        checked > 50,
        "too few module edges seen ({checked}): is the parser blind?"
    );
    assert!(
        cycles.is_empty(),
        "cycles between modules:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle_and_resolves_paths() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&edges).unwrap().len(), 4);
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Module>();
    assert_eq!(
        paths_after("{a::B, c::{d, e::F}, self};"),
        vec![path("a::B"), path("c::d"), path("c::e::F")]
    );
    let file = path("runtime::target");
    let found = references(&file, "use super::limit::Limiter; use crate::fleet::Fleet;");
    assert!(
        found.contains(&path("runtime::limit::Limiter")),
        "{found:?}"
    );
    assert!(found.contains(&path("fleet::Fleet")), "{found:?}");
    let up = references(&file, "use super::super::outcome::Skip;");
    assert!(up.contains(&path("outcome::Skip")), "{up:?}");
}
