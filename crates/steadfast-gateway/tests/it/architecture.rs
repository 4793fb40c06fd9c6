//! `ARCHITECTURE.md` stays true to the code: its table of crates and their
//! dependencies is each crate's `Cargo.toml`, every source file it names
//! exists, and every function it names after a file is in that file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The workspace crates each crate's `[dependencies]` name by path.
fn manifest_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut section = "";
        let mut deps = BTreeSet::new();
        for line in manifest.lines() {
            if line.starts_with('[') {
                section = line;
            } else if section == "[dependencies]" && line.contains("path = \"../") {
                deps.insert(line.split(' ').next().unwrap().to_owned());
            }
        }
        all.insert(name, deps);
    }
    all
}

/// The table rows `| `crate` | `dep`, `dep` |` (a dash for none).
fn documented_dependencies(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let table = text
        .split("| crate | depends on (workspace crates) |")
        .nth(1)
        .expect("the dependency table");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let deps = cells[2]
                .split(',')
                .map(|dep| dep.trim().trim_matches('`').to_owned())
                .filter(|dep| !dep.is_empty() && dep != "—")
                .collect();
            (name, deps)
        })
        .collect()
}

#[test]
fn the_crate_table_is_each_crates_manifest() {
    let mut manifests = manifest_dependencies();
    // The bench crate has no normal dependency on the workspace (its
    // benches use the library as a dev-dependency).
    manifests.remove("steadfast-bench");
    assert_eq!(documented_dependencies(&architecture()), manifests);
}

#[test]
fn every_file_and_function_named_exists() {
    let text = architecture();
    let crates = root().join("crates");
    let mut current: Option<PathBuf> = None;
    let mut files = 0;
    let tokens: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
    for token in tokens {
        if !token.ends_with(".rs") {
            continue;
        }
        let path = match token.split_once("/src/") {
            _ if token.starts_with("crates/") => root().join(token),
            Some((krate, _)) if krate.starts_with("steadfast") => {
                current = Some(crates.join(krate).join("src"));
                crates.join(token)
            }
            _ => current
                .as_ref()
                .unwrap_or_else(|| panic!("{token}: which crate?"))
                .join(token),
        };
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("ARCHITECTURE.md names {token}: no {}", path.display()));
        files += 1;
        // The function named right after the file, as `file.rs` `name`.
        let marker = format!("`{token}` `");
        for rest in text.split(&marker).skip(1) {
            let name = rest.split('`').next().unwrap();
            let function = name.rsplit("::").next().unwrap();
            let function = function.split('(').next().unwrap();
            assert!(
                source.contains(&format!("fn {function}"))
                    || source.contains(&format!("struct {function}"))
                    || source.contains(&format!("enum {function}"))
                    || source.contains(&format!("type {function}")),
                "ARCHITECTURE.md names {name} in {token}, which has no such item"
            );
        }
    }
    assert!(files >= 20, "only {files} files named");
}
