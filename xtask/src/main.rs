//! The console's build, with no tool to install but npm's wasm-opt.
//!
//! - `cargo xtask site`: the console compiled to WebAssembly, its JavaScript glue
//!   (wasm-bindgen, as a library at the workspace's pinned version), optimised for size
//!   by wasm-opt, with the stylesheet and the public files, in `target/site`.
//! - `cargo xtask release`: the site, then the `coupler` binary built with that site
//!   inside it (`target/release/coupler`) and its checksum (`coupler.sha256` beside it).

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The name of the console's files: `pkg/coupler.js`, `pkg/coupler.wasm`, `pkg/coupler.css`.
const OUTPUT_NAME: &str = "coupler";

fn main() -> anyhow::Result<()> {
    let build = Build::here()?;
    match std::env::args().nth(1).as_deref() {
        Some("site") => build.site(),
        Some("release") => {
            build.site()?;
            build.release()
        }
        _ => bail!("usage: cargo xtask site|release"),
    }
}

/// Where the workspace and its build output are.
struct Build {
    root: PathBuf,
    target: PathBuf,
}

impl Build {
    fn here() -> anyhow::Result<Build> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the xtask crate sits in the workspace")?
            .to_path_buf();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|dir| {
                if dir.is_absolute() {
                    dir
                } else {
                    root.join(dir)
                }
            })
            .unwrap_or_else(|| root.join("target"));
        Ok(Build { root, target })
    }

    fn site_dir(&self) -> PathBuf {
        self.target.join("site")
    }

    /// Builds the site into `target/site`. A file whose contents did not change is left
    /// as it was (so the release build does not embed it again), and the glue and
    /// optimisation are skipped when the compiled WebAssembly is the one they were made
    /// from.
    fn site(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        step("compiling the console to WebAssembly (profile wasm-release)");
        self.cargo(&[
            "build",
            "--package",
            "frontend",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])?;
        let compiled = self
            .target
            .join("wasm32-unknown-unknown/wasm-release/frontend.wasm");
        let glue = self.target.join("site-glue");
        let stamp = glue.join("made-from.sha256");
        let made_from = hex(&Sha256::new()
            .chain_update(read(&compiled)?)
            .chain_update(WASM_OPT_FLAGS.join(" "))
            .finalize());
        if std::fs::read_to_string(&stamp).is_ok_and(|stamped| stamped == made_from) {
            step("the WebAssembly is unchanged: keeping its glue and optimised build");
        } else {
            self.glue(&compiled, &glue)?;
            std::fs::write(&stamp, &made_from)
                .with_context(|| format!("cannot write {}", stamp.display()))?;
        }

        let site = self.site_dir();
        let mut published = Published::new(&site);
        let skip = [
            format!("{OUTPUT_NAME}_bg.wasm"),
            "made-from.sha256".to_string(),
        ];
        published.dir(&glue, "pkg", &skip)?;
        published.file(
            &self.root.join("style/main.css"),
            &format!("pkg/{OUTPUT_NAME}.css"),
        )?;
        published.dir(&self.root.join("public"), "", &[])?;
        published.remove_others()?;
        println!(
            "site: {} (WebAssembly {} KiB, {} of {} files changed) in {:.0} s",
            site.display(),
            size(&site.join(format!("pkg/{OUTPUT_NAME}.wasm")))? / 1024,
            published.changed,
            published.names.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The JavaScript glue and the optimised WebAssembly of `compiled`, made in `glue`.
    fn glue(&self, compiled: &Path, glue: &Path) -> anyhow::Result<()> {
        step("generating the JavaScript glue (wasm-bindgen)");
        remove_dir(glue)?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(compiled)
            .out_name(OUTPUT_NAME)
            .web(true)?
            .typescript(false)
            .remove_name_section(true)
            .remove_producers_section(true)
            .generate(glue)
            .with_context(|| format!("wasm-bindgen on {}", compiled.display()))?;

        step("optimising the WebAssembly for size (wasm-opt)");
        let wasm_opt = self.root.join("tools/node_modules/.bin/wasm-opt");
        if !wasm_opt.exists() {
            bail!(
                "{} is missing: run `npm ci` in tools/ (scripts/setup.sh build does)",
                wasm_opt.display()
            );
        }
        run(Command::new(&wasm_opt)
            .arg(glue.join(format!("{OUTPUT_NAME}_bg.wasm")))
            .args(WASM_OPT_FLAGS)
            .arg("-o")
            .arg(glue.join(format!("{OUTPUT_NAME}.wasm"))))
    }

    /// Builds `target/release/coupler` with the site inside it, and its checksum.
    fn release(&self) -> anyhow::Result<()> {
        step("building the coupler binary with the console inside it (release)");
        let site = self.site_dir();
        let status = Command::new(cargo())
            .current_dir(&self.root)
            .args([
                "build",
                "--release",
                "--package",
                "server",
                "--bin",
                "coupler",
            ])
            .env("COUPLER_EMBED_SITE", &site)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("the release build failed");
        }
        let binary = self.target.join("release/coupler");
        let bytes = read(&binary)?;
        let sum = hex(&Sha256::digest(&bytes));
        let checksum = binary.with_extension("sha256");
        std::fs::write(&checksum, format!("{sum}  coupler\n"))
            .with_context(|| format!("cannot write {}", checksum.display()))?;
        println!(
            "binary: {} ({} MiB), sha256 {sum} in {}",
            binary.display(),
            bytes.len() / (1024 * 1024),
            checksum.display()
        );
        Ok(())
    }

    fn cargo(&self, args: &[&str]) -> anyhow::Result<()> {
        run(Command::new(cargo()).current_dir(&self.root).args(args))
    }
}

/// wasm-opt's optimisation for size, and the WebAssembly features Rust's wasm32 target
/// enables, which wasm-opt must accept.
const WASM_OPT_FLAGS: &[&str] = &[
    "-Oz",
    "--strip-debug",
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// The cargo that runs this task.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn step(what: &str) {
    println!("\n==> {what}");
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} failed ({status})", command.get_program());
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// The files of a site being written: each is written only when its contents differ from
/// what the site holds, and what the site holds beyond them is removed at the end.
struct Published {
    site: PathBuf,
    names: BTreeSet<PathBuf>,
    changed: usize,
}

impl Published {
    fn new(site: &Path) -> Published {
        Published {
            site: site.to_path_buf(),
            names: BTreeSet::new(),
            changed: 0,
        }
    }

    /// Publishes `from` as `name` (a path in the site).
    fn file(&mut self, from: &Path, name: &str) -> anyhow::Result<()> {
        let bytes = read(from)?;
        let dest = self.site.join(name);
        if std::fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&dest, &bytes)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            self.changed += 1;
        }
        self.names.insert(PathBuf::from(name));
        Ok(())
    }

    /// Publishes the files under `from` into the site's folder `under`, but those named in
    /// `except` (at its top).
    fn dir(&mut self, from: &Path, under: &str, except: &[String]) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            if except.iter().any(|skip| name == skip.as_str()) {
                continue;
            }
            let inner = Path::new(under).join(&name);
            let inner = inner.to_str().context("a site file's name is UTF-8")?;
            if entry.file_type()?.is_dir() {
                self.dir(&entry.path(), inner, &[])?;
            } else {
                self.file(&entry.path(), inner)?;
            }
        }
        Ok(())
    }

    /// Removes the site's files that were not published this time.
    fn remove_others(&self) -> anyhow::Result<()> {
        self.remove_under(Path::new(""))
    }

    fn remove_under(&self, inner: &Path) -> anyhow::Result<()> {
        let dir = self.site.join(inner);
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let name = inner.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                self.remove_under(&name)?;
            } else if !self.names.contains(&name) {
                std::fs::remove_file(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len())
}
