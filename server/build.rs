//! Embeds the console's built site in the binary when `COUPLER_EMBED_SITE` names its
//! folder, as `cargo xtask release` does. Without it the binary embeds nothing and serves
//! the site from a folder (`--site-root`, `target/site` by default).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=COUPLER_EMBED_SITE");
    let mut files = Vec::new();
    if let Some(dir) = std::env::var_os("COUPLER_EMBED_SITE") {
        let dir = PathBuf::from(dir);
        collect(&dir, &dir, &mut files);
        if !files.iter().any(|(name, _)| name == "pkg/coupler.wasm") {
            panic!(
                "{} holds no pkg/coupler.wasm: build the site first (`cargo xtask site`)",
                dir.display()
            );
        }
    }
    files.sort();
    let mut code =
        String::from("/// The site's files: each one's path in the site, and its contents.\n");
    code.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("site.rs"), code).expect("cannot write the embedded site's list");
}

/// Every file under `dir`, named by its path from `root` with `/` between names.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read the site at {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable folder entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .expect("under the site")
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let path = path.canonicalize().expect("a file of the site");
            files.push((name, path));
        }
    }
}
