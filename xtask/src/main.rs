//! The console's build, with no tool to install but npm's wasm-opt.
//!
//! - `cargo xtask site`: the console compiled to WebAssembly, its JavaScript glue
//!   (wasm-bindgen, as a library at the workspace's pinned version), optimised for size
//!   by wasm-opt, with the stylesheet and the public files, in `target/site`.
//! - `cargo xtask release`: the site, then the `coupler` binary built with that site
//!   inside it (`target/release/coupler`) and its checksum (`coupler.sha256` beside it).

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
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

    /// Builds the site into `target/site`, replacing what was there.
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

        step("generating the JavaScript glue (wasm-bindgen)");
        let glue = self.target.join("site-glue");
        remove_dir(&glue)?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&compiled)
            .out_name(OUTPUT_NAME)
            .web(true)?
            .typescript(false)
            .remove_name_section(true)
            .remove_producers_section(true)
            .generate(&glue)
            .with_context(|| format!("wasm-bindgen on {}", compiled.display()))?;

        let site = self.site_dir();
        remove_dir(&site)?;
        let pkg = site.join("pkg");
        std::fs::create_dir_all(&pkg)
            .with_context(|| format!("cannot create {}", pkg.display()))?;
        copy_dir(&glue, &pkg, &[format!("{OUTPUT_NAME}_bg.wasm")])?;

        step("optimising the WebAssembly for size (wasm-opt)");
        let wasm_opt = self.root.join("tools/node_modules/.bin/wasm-opt");
        if !wasm_opt.exists() {
            bail!(
                "{} is missing: run `npm ci` in tools/ (scripts/setup.sh build does)",
                wasm_opt.display()
            );
        }
        let wasm = pkg.join(format!("{OUTPUT_NAME}.wasm"));
        run(Command::new(&wasm_opt)
            .arg(glue.join(format!("{OUTPUT_NAME}_bg.wasm")))
            .args(["-Oz", "--strip-debug"])
            .args(WASM_FEATURES)
            .arg("-o")
            .arg(&wasm))?;

        std::fs::copy(
            self.root.join("style/main.css"),
            pkg.join(format!("{OUTPUT_NAME}.css")),
        )
        .context("cannot copy style/main.css")?;
        copy_dir(&self.root.join("public"), &site, &[])?;
        remove_dir(&glue)?;
        println!(
            "site: {} (WebAssembly {} KiB) in {:.0} s",
            site.display(),
            size(&wasm)? / 1024,
            started.elapsed().as_secs_f64()
        );
        Ok(())
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
        let bytes =
            std::fs::read(&binary).with_context(|| format!("cannot read {}", binary.display()))?;
        let sum = Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>();
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

/// The WebAssembly features Rust's wasm32 target enables, which wasm-opt must accept.
const WASM_FEATURES: &[&str] = &[
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

/// Copies the files under `from` into `to`, but those named in `except` (at its top).
fn copy_dir(from: &Path, to: &Path, except: &[String]) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if except.iter().any(|skip| name == skip.as_str()) {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&dest)?;
            copy_dir(&source, &dest, &[])?;
        } else {
            std::fs::copy(&source, &dest)
                .with_context(|| format!("cannot copy {}", source.display()))?;
        }
    }
    Ok(())
}

fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len())
}
