//! `ServiceInstance/ServiceInstance/content`: the anonymous entry point that tells a client
//! where the SessionManager is and what API it speaks.

use super::dto::{AboutInfo, MoRef, ServiceContent};
use super::route::{ServiceInstance, Target};
use axum::Json;

/// AboutInfo answers in the terms of the release the client asked for: `apiVersion` is the
/// release itself (vCenter 8.0.3 reports `8.0.3.0` and serves `/sdk/vim25/8.0.3.0`), `version`
/// its first three parts, as a vCenter of that release would say; `build` is sessiond's own
/// version so that the real product stays identifiable next to `name` and `vendor`.
pub fn service_content(release: &str) -> ServiceContent {
    let version = release.rsplit_once('.').map_or(release, |(head, _)| head);
    let build = env!("CARGO_PKG_VERSION");
    ServiceContent {
        type_name: "ServiceContent",
        root_folder: MoRef::new("Folder", "group-d1"),
        property_collector: MoRef::new("PropertyCollector", "propertyCollector"),
        about: AboutInfo {
            type_name: "AboutInfo",
            name: "sessiond".into(),
            full_name: format!("sessiond {build} (vSphere SessionManager JSON API {release})"),
            vendor: "sessiond".into(),
            version: version.to_string(),
            build: build.to_string(),
            os_type: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            product_line_id: "sessiond".into(),
            api_type: "VirtualCenter".into(),
            api_version: release.to_string(),
        },
        session_manager: MoRef::session_manager(),
    }
}

pub async fn content(target: Target<ServiceInstance>) -> Json<ServiceContent> {
    Json(service_content(&target.release))
}
