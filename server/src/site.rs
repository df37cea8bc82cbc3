//! The console's built files: the WebAssembly, its JavaScript glue, the stylesheet and the
//! icon. A release build carries them inside the binary (`cargo xtask release`); otherwise
//! they are read from a folder (`--site-root`, `target/site` by default), as in development.
//!
//! Embedded, the three files a page links to are also served under names carrying the
//! site's digest (`/pkg/coupler-<digest>.wasm`), which browsers may keep for a year: a
//! new binary has new names. Every other answer here is revalidated before it is reused.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::path::{Component, Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// The name of the console's files, before their extension.
const OUTPUT_NAME: &str = "coupler";
/// The files a page links to, by extension.
const LINKED: [&str; 3] = ["js", "wasm", "css"];
/// How long a browser may keep a file whose name carries its digest.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A file served under its plain name, which the next build may change.
const REVALIDATE: &str = "no-cache";

/// Where the console's files come from.
#[derive(Clone, Debug)]
pub enum Site {
    /// Inside this binary; `digest` names this build of them.
    Embedded {
        /// The first 16 hex digits of the SHA-256 of the linked files.
        digest: String,
    },
    /// Read from this folder at each request.
    Folder(PathBuf),
}

impl Site {
    /// The folder given, else the site inside this binary, else `target/site`.
    pub fn choose(site_root: Option<PathBuf>) -> Site {
        match site_root {
            Some(root) => Site::Folder(root),
            None if !embedded::FILES.is_empty() => Site::Embedded {
                digest: digest(embedded::FILES),
            },
            None => Site::Folder(PathBuf::from("target/site")),
        }
    }

    /// What the pages call the linked files: `coupler`, or `coupler-<digest>` embedded.
    pub fn output_name(&self) -> String {
        match self {
            Site::Embedded { digest } => format!("{OUTPUT_NAME}-{digest}"),
            Site::Folder(_) => OUTPUT_NAME.to_string(),
        }
    }

    /// Whether the console's WebAssembly is here: without it pages are not hydrated.
    pub fn has_webassembly(&self) -> bool {
        match self {
            Site::Embedded { .. } => true,
            Site::Folder(root) => root
                .join("pkg")
                .join(format!("{OUTPUT_NAME}.wasm"))
                .exists(),
        }
    }

    /// Where this site is, for the log.
    pub fn describe(&self) -> String {
        match self {
            Site::Embedded { .. } => "inside the binary".to_string(),
            Site::Folder(root) => root.display().to_string(),
        }
    }

    /// The file at the request's `path`, if the site has one; `None` lets the console
    /// answer (its pages, or its "not found").
    pub async fn file(&self, method: &Method, path: &str) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let name = path.strip_prefix('/')?;
        let (bytes, cache) = match self {
            Site::Embedded { digest } => {
                let (name, cache) = match unhashed(name, digest) {
                    Some(plain) => (plain, IMMUTABLE),
                    None => (name.to_string(), REVALIDATE),
                };
                let (_, bytes) = embedded::FILES.iter().find(|(file, _)| *file == name)?;
                (Body::from(*bytes), cache)
            }
            Site::Folder(root) => {
                let path = safe_path(root, name)?;
                (Body::from(tokio::fs::read(path).await.ok()?), REVALIDATE)
            }
        };
        let mut response = Response::new(if method == Method::HEAD {
            Body::empty()
        } else {
            bytes
        });
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        Some(response)
    }
}

/// `pkg/coupler.wasm` for `pkg/coupler-<digest>.wasm`, and so on for each linked file.
fn unhashed(name: &str, digest: &str) -> Option<String> {
    let rest = name.strip_prefix("pkg/")?.strip_prefix(OUTPUT_NAME)?;
    let extension = rest
        .strip_prefix('-')?
        .strip_prefix(digest)?
        .strip_prefix('.')?;
    LINKED
        .contains(&extension)
        .then(|| format!("pkg/{OUTPUT_NAME}.{extension}"))
}

/// The path of `name` under `root`, when each part of it is a plain name (no `..`, no
/// root, no hidden file).
fn safe_path(root: &Path, name: &str) -> Option<PathBuf> {
    let relative = Path::new(name);
    let plain = relative.components().all(
        |part| matches!(part, Component::Normal(part) if !part.to_string_lossy().starts_with('.')),
    );
    (plain && !name.is_empty()).then(|| root.join(relative))
}

/// The first 16 hex digits of the SHA-256 of the linked files, each after its name.
fn digest(files: &[(&str, &[u8])]) -> String {
    let mut hash = Sha256::new();
    for extension in LINKED {
        let name = format!("pkg/{OUTPUT_NAME}.{extension}");
        if let Some((_, bytes)) = files.iter().find(|(file, _)| *file == name) {
            hash.update(name.as_bytes());
            hash.update(bytes);
        }
    }
    hash.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The content type of a file of the site, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_name_is_its_linked_file() {
        assert_eq!(
            unhashed("pkg/coupler-0123456789abcdef.wasm", "0123456789abcdef").as_deref(),
            Some("pkg/coupler.wasm")
        );
        assert_eq!(
            unhashed("pkg/coupler-0123456789abcdef.wasm", "fedcba9876543210"),
            None
        );
        assert_eq!(
            unhashed("pkg/coupler-0123456789abcdef.txt", "0123456789abcdef"),
            None
        );
        assert_eq!(unhashed("pkg/coupler.wasm", "0123456789abcdef"), None);
    }

    #[test]
    fn a_folder_serves_only_plain_names_under_it() {
        let root = Path::new("/srv/site");
        assert_eq!(
            safe_path(root, "pkg/coupler.js"),
            Some(root.join("pkg/coupler.js"))
        );
        assert_eq!(safe_path(root, "../coupler.toml"), None);
        assert_eq!(safe_path(root, "pkg/../../etc/passwd"), None);
        assert_eq!(safe_path(root, "/etc/passwd"), None);
        assert_eq!(safe_path(root, ".env"), None);
        assert_eq!(safe_path(root, ""), None);
    }
}
