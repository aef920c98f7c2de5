//! The console's static files, embedded in the binary: htmx (vendored, `vendor/htmx/`), the
//! console's own script and style sheet, and its icon. Nothing is fetched from elsewhere.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// htmx 2.0.11 (Zero-Clause BSD), `dist/htmx.min.js` of the npm package `htmx.org`.
const HTMX: &[u8] = include_bytes!("../../vendor/htmx/htmx.min.js");
const SCRIPT: &[u8] = include_bytes!("../../assets/console/console.js");
const STYLE: &[u8] = include_bytes!("../../assets/console/console.css");
const ICON: &[u8] = include_bytes!("../../assets/console/favicon.svg");

fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match name {
        "htmx.min.js" => ("text/javascript; charset=utf-8", HTMX),
        "console.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "console.css" => ("text/css; charset=utf-8", STYLE),
        "favicon.svg" => ("image/svg+xml", ICON),
        _ => return None,
    })
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match asset(&name) {
        // Short-lived caching: the names carry no version, and an upgrade should show.
        Some((ct, body)) => (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_local() {
        for name in ["htmx.min.js", "console.js", "console.css", "favicon.svg"] {
            let (_, body) = asset(name).unwrap_or(("", b""));
            assert!(!body.is_empty(), "{name}");
            let text = String::from_utf8_lossy(body);
            assert!(
                !text.contains("https://") || name == "htmx.min.js",
                "{name}"
            );
        }
        assert!(asset("../Cargo.toml").is_none());
    }
}
