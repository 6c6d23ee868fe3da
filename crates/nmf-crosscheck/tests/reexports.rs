//! Each backend crate re-exports nmf-core's whole public API, so that it is the only
//! dependency a user adds: every name that nmf-core's lib.rs makes public (`pub use …` and
//! `pub mod …`) appears in a `pub use nmf_core::{…}` of each backend's lib.rs. The
//! exceptions are listed with their reason. The backends' tests/one_crate.rs use the API
//! through one crate; this test catches a name added to nmf-core and forgotten in a backend.

use std::collections::BTreeSet;

fn read(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// The names brought in by the `pub use` statements of `src` whose path starts with
/// `prefix` (`crate::` paths of nmf-core's modules, or `nmf_core`), and the `pub mod`
/// names. Items marked `#[doc(hidden)]` are skipped.
fn public_names(src: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut hidden = false;
    let mut stmt: Option<String> = None;
    for line in src.lines() {
        let t = line.trim();
        if let Some(s) = stmt.as_mut() {
            s.push(' ');
            s.push_str(t);
        } else if t.starts_with("#[doc(hidden)]") {
            hidden = true;
            continue;
        } else if t.starts_with("#[") || t.starts_with("//") {
            continue;
        } else if let Some(m) = t.strip_prefix("pub mod ") {
            if !hidden {
                names.insert(m.trim_end_matches(';').trim().to_string());
            }
        } else if t.starts_with("pub use ") {
            stmt = Some(t.to_string());
        }
        if let Some(s) = stmt.clone().filter(|s| s.ends_with(';')) {
            stmt = None;
            let path = s.trim_start_matches("pub use ").trim_end_matches(';');
            let matches = prefixes.iter().any(|p| path.starts_with(p));
            if !hidden && matches {
                let list = match (path.find('{'), path.rfind('}')) {
                    (Some(a), Some(b)) => &path[a + 1..b],
                    _ => path.rsplit("::").next().unwrap_or(path),
                };
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let name = name.rsplit(" as ").next().unwrap_or(name);
                    let name = name.rsplit("::").next().unwrap_or(name);
                    if name != "self" {
                        names.insert(name.to_string());
                    }
                }
            }
        }
        hidden = false;
    }
    names
}

#[test]
fn every_backend_re_exports_the_public_api_of_nmf_core() {
    let core = public_names(
        &read("nmf-core/src/lib.rs"),
        &[
            "backend::",
            "driver::",
            "error::",
            "model::",
            "params::",
            "saved::",
            "scalar::",
            "transform::",
            "update::",
        ],
    );
    // The parser found the API (a guard against a parser that finds nothing).
    for name in [
        "Nmf",
        "NmfError",
        "SavedModel",
        "TransformParams",
        "Fitting",
        "Transforming",
        "Fixed",
        "Penalty",
        "reference",
    ] {
        assert!(
            core.contains(name),
            "nmf-core's lib.rs does not export {name}: {core:?}"
        );
    }
    for (crate_dir, own_svd) in [
        ("nmf-faer", true),
        ("nmf-nalgebra", true),
        ("nmf-ndarray", false),
    ] {
        let exported = public_names(&read(&format!("{crate_dir}/src/lib.rs")), &["nmf_core"]);
        let missing: Vec<&String> = core
            .iter()
            .filter(|n| !exported.contains(*n))
            // The property suite (feature `testing`) is for backend authors, who depend on
            // nmf-core; a backend with a private `svd` module reaches nmf-core's as
            // `nmf_core::svd` (the crate `nmf_core` itself is re-exported by every backend).
            .filter(|n| !(n.as_str() == "testing" || (own_svd && n.as_str() == "svd")))
            .collect();
        assert!(
            missing.is_empty(),
            "{crate_dir}/src/lib.rs does not re-export {missing:?} from nmf-core"
        );
    }
}
