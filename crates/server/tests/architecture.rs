//! Architecture invariants checked on the resolved dependency graph (`cargo metadata`), not
//! by reading Cargo.toml files: core stays free of HTTP, SQL and Redis; TLS is rustls on ring
//! with no aws-lc anywhere; the binary reaches SQLite only through a store crate.
//!
//! A failure names the path through the graph that breaks the invariant.

use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Command;

/// Crates that must not be in core's closure of normal dependencies.
const NOT_IN_CORE: [&str; 8] = [
    "axum",
    "axum-core",
    "hyper",
    "rusqlite",
    "libsqlite3-sys",
    "redis",
    "fred",
    "tower",
];

/// Crates that must not be anywhere in the resolved graph (rustls must use ring).
const NOWHERE: [&str; 2] = ["aws-lc-rs", "aws-lc-sys"];

/// The resolved graph of the workspace.
struct Graph {
    /// Package id → package name.
    names: HashMap<String, String>,
    /// Package id → (dependency id, is a normal dependency).
    deps: HashMap<String, Vec<(String, bool)>>,
    /// Package id → features enabled as resolved.
    features: HashMap<String, Vec<String>>,
}

fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("cargo metadata: no string {key:?} in {v}"))
        .to_string()
}

fn array<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("cargo metadata: no array {key:?}"))
}

impl Graph {
    fn load() -> Graph {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
        let out = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--manifest-path",
            ])
            .arg(manifest)
            .output()
            .expect("run cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
        let names = array(&meta, "packages")
            .iter()
            .map(|p| (str_of(p, "id"), str_of(p, "name")))
            .collect();
        let mut deps = HashMap::new();
        let mut features = HashMap::new();
        for node in array(&meta["resolve"], "nodes") {
            let id = str_of(node, "id");
            let edges = array(node, "deps")
                .iter()
                .map(|d| {
                    // `kind` is null for a normal dependency, "dev" or "build" otherwise.
                    let normal = array(d, "dep_kinds").iter().any(|k| k["kind"].is_null());
                    (str_of(d, "pkg"), normal)
                })
                .collect();
            deps.insert(id.clone(), edges);
            let enabled = array(node, "features")
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect();
            features.insert(id, enabled);
        }
        Graph {
            names,
            deps,
            features,
        }
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map(String::as_str).unwrap_or(id)
    }

    /// Ids of the resolved packages named `name`.
    fn ids_named(&self, name: &str) -> Vec<&str> {
        self.deps
            .keys()
            .filter(|id| self.name(id) == name)
            .map(String::as_str)
            .collect()
    }

    /// Breadth-first from `root`, following normal dependencies only or every kind: each
    /// package reached, with the path of names that reaches it first.
    fn reach(&self, root: &str, normal_only: bool) -> Vec<(String, Vec<String>)> {
        let mut seen = HashSet::from([root.to_string()]);
        let mut queue = VecDeque::from([(root.to_string(), vec![self.name(root).to_string()])]);
        let mut reached = Vec::new();
        while let Some((id, path)) = queue.pop_front() {
            for (dep, normal) in self.deps.get(&id).into_iter().flatten() {
                if (normal_only && !normal) || !seen.insert(dep.clone()) {
                    continue;
                }
                let mut p = path.clone();
                p.push(self.name(dep).to_string());
                reached.push((dep.clone(), p.clone()));
                queue.push_back((dep.clone(), p));
            }
        }
        reached
    }

    /// The one package named `name`.
    fn only(&self, name: &str) -> &str {
        match self.ids_named(name)[..] {
            [id] => id,
            ref ids => panic!("expected one package {name:?} in the graph, found {ids:?}"),
        }
    }
}

#[test]
fn core_has_no_http_sql_or_redis_dependency() {
    let g = Graph::load();
    let core = g.only("sessiond-core");
    let offending: Vec<String> = g
        .reach(core, true)
        .into_iter()
        .filter(|(id, _)| NOT_IN_CORE.contains(&g.name(id)))
        .map(|(_, path)| path.join(" -> "))
        .collect();
    assert!(
        offending.is_empty(),
        "sessiond-core must not depend on {NOT_IN_CORE:?} (ARCHITECTURE.md); found:\n  {}",
        offending.join("\n  ")
    );
}

#[test]
fn tls_is_rustls_on_ring_without_aws_lc() {
    let g = Graph::load();
    let mut offending = Vec::new();
    for root in g.deps.keys().filter(|id| id.starts_with("path+")) {
        for (id, path) in g.reach(root, false) {
            if NOWHERE.contains(&g.name(&id)) {
                offending.push(path.join(" -> "));
            }
        }
    }
    offending.sort();
    offending.dedup();
    assert!(
        offending.is_empty(),
        "{NOWHERE:?} must not be in the dependency graph; found:\n  {}",
        offending.join("\n  ")
    );
    let rustls = g.ids_named("rustls");
    assert!(!rustls.is_empty(), "rustls is not in the dependency graph");
    for id in rustls {
        let features = &g.features[id];
        assert!(
            features.iter().any(|f| f == "ring"),
            "{id} is resolved without the feature \"ring\": {features:?}"
        );
    }
}

#[test]
fn the_binary_reaches_sqlite_only_through_a_store() {
    let g = Graph::load();
    let server = g.only("sessiond-server");
    let direct: Vec<&str> = g.deps[server]
        .iter()
        .filter(|(_, normal)| *normal)
        .map(|(id, _)| g.name(id))
        .filter(|name| ["rusqlite", "libsqlite3-sys"].contains(name))
        .collect();
    assert!(
        direct.is_empty(),
        "sessiond-server depends directly on {direct:?}; stores are behind the Store trait \
         (path: sessiond-server -> {})",
        direct.join(", ")
    );
}
