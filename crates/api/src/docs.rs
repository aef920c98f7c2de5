//! `/api/docs`: the API reference page, rendered by Scalar from the OpenAPI document, with
//! Scalar's script served by sessiond itself (vendored, `vendor/scalar/`), so the page works
//! without internet access; default fonts (fetched from Scalar's CDN) are turned off.

use crate::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Scalar's standalone bundle, `@scalar/api-reference` 1.76.0 (MIT).
const SCALAR_JS: &[u8] = include_bytes!("../vendor/scalar/standalone.js");

/// The page: the OpenAPI document inline (utoipa-scalar fills `$spec`), the local script.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
    <title>sessiond API reference</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
<script id="api-reference" type="application/json" data-configuration='{"withDefaultFonts":false}'>
    $spec
</script>
<script src="/api/docs/scalar.js"></script>
</body>
</html>
"#;

async fn scalar_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SCALAR_JS,
    )
}

pub fn router() -> Router<AppState> {
    use utoipa::OpenApi;
    use utoipa_scalar::Servable;
    Router::new()
        .merge(
            utoipa_scalar::Scalar::with_url("/api/docs", crate::native::openapi::ApiDoc::openapi())
                .custom_html(PAGE),
        )
        .route("/api/docs/scalar.js", get(scalar_js))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        assert!(PAGE.contains("$spec"));
        assert!(
            !PAGE.contains("http://") && !PAGE.contains("https://"),
            "{PAGE}"
        );
        assert!(SCALAR_JS.len() > 1_000_000, "the whole bundle is embedded");
    }
}
