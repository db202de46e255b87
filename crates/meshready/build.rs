//! Sets `cfg(meshready_shared)` when the shared test data (`../shared` beside the checkout) is
//! there, so that the conformance and corpora tests are *ignored with a reason* without it,
//! never passed without checking anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(meshready_shared)");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    println!("cargo::rerun-if-changed={}", dir.display());
    if dir.join("conformance").is_dir() {
        println!("cargo::rustc-cfg=meshready_shared");
    }
}
