//! Architecture invariants that live in the source rather than in the dependency graph,
//! checked by reading the workspace's own `.rs` files (comments excluded): every end and
//! every creation of a session goes through core's one path; stores neither decide
//! visibility nor read a clock; dialects never compare tenants themselves.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, as (path relative to the workspace, code without comments).
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = workspace();
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("read source");
                let code: String = text
                    .lines()
                    .map(|l| match l.find("//") {
                        Some(i) => &l[..i],
                        None => l,
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let rel = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
                out.push((rel, code));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

/// Files under `dir` (other than `allowed`) whose code contains `needle`.
fn offenders(dir: &str, needle: &str, allowed: &[&str]) -> Vec<String> {
    sources(dir)
        .into_iter()
        .filter(|(p, code)| code.contains(needle) && !allowed.iter().any(|a| p.ends_with(a)))
        .map(|(p, _)| p)
        .collect()
}

#[test]
fn every_end_and_every_creation_goes_through_one_path_in_core() {
    for dir in ["crates/core/src", "crates/api/src", "crates/server/src"] {
        for needle in [
            ".end_sessions(",
            ".end_if_active(",
            ".end_if_active_audited(",
        ] {
            // store.rs: the trait's provided methods are the same end, with fewer effects.
            let ends = offenders(
                dir,
                needle,
                &["core/src/registry/ending.rs", "core/src/store.rs"],
            );
            assert!(
                ends.is_empty(),
                "only registry/ending.rs (the funnel) may end sessions in the store: {ends:?}"
            );
        }
        let inserts = offenders(dir, ".insert_session(", &["core/src/registry/creating.rs"]);
        assert!(
            inserts.is_empty(),
            "only registry/creating.rs may create sessions in the store: {inserts:?}"
        );
    }
}

#[test]
fn stores_neither_decide_visibility_nor_read_a_clock() {
    for dir in ["crates/store-sqlite/src", "crates/store-redis/src"] {
        for needle in [
            "EndScope",
            "can_transition",
            "Caller",
            "Privilege",
            "SystemTime",
            "SystemClock",
            "ManualClock",
        ] {
            let found = offenders(dir, needle, &[]);
            assert!(
                found.is_empty(),
                "a store must not use {needle} (rules and clocks are core's): {found:?}"
            );
        }
    }
}

#[test]
fn dialects_never_compare_tenants_themselves() {
    for needle in [
        "tenant_id ==",
        "tenant_id !=",
        "== caller.tenant_id",
        "!= caller.tenant_id",
        "tenant_name(caller.tenant_id).await? !=",
        "tenant_name(caller.tenant_id).await? ==",
    ] {
        let found = offenders("crates/api/src", needle, &[]);
        assert!(
            found.is_empty(),
            "tenant visibility is core's (Caller::sees_tenant, EndScope, \
             Registry::own_tenant_named); found {needle:?} in {found:?}"
        );
    }
}
