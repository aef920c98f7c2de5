//! The data objects of the SOAP answers (UserSession, ServiceContent), written from the same
//! DTOs the VI/JSON dialect serializes, with only fields every pyvmomi since 5.1 knows.

use super::super::dto::{ServiceContent, UserSession};
use super::super::service_instance::service_content;
use super::envelope::{moref_el, text_el};
use sessiond_core::Timestamp;

/// The one release this encoding speaks; `vimServiceVersions.xml` lists it first.
pub const RELEASE: &str = "8.0.3.0";

/// ServiceContent as the JSON dialect builds it for `RELEASE`, its fullName naming SOAP.
pub fn content() -> ServiceContent {
    let mut c = service_content(RELEASE);
    c.about.full_name = format!(
        "sessiond {} (vSphere SessionManager SOAP API {RELEASE})",
        c.about.build
    );
    c
}

/// xsd:dateTime (RFC 3339, microseconds, `Z`).
pub fn date_time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// The fields of a UserSession, in WSDL order; all eleven exist since vSphere 5.1.
pub fn user_session(out: &mut String, s: &UserSession) {
    text_el(out, "key", &s.key);
    text_el(out, "userName", &s.user_name);
    text_el(out, "fullName", &s.full_name);
    text_el(out, "loginTime", &date_time(s.login_time));
    text_el(out, "lastActiveTime", &date_time(s.last_active_time));
    text_el(out, "locale", &s.locale);
    text_el(out, "messageLocale", &s.message_locale);
    text_el(
        out,
        "extensionSession",
        if s.extension_session { "true" } else { "false" },
    );
    text_el(out, "ipAddress", &s.ip_address);
    text_el(out, "userAgent", &s.user_agent);
    text_el(out, "callCount", &s.call_count.to_string());
}

/// The fields of a ServiceContent: the four the WSDL requires. AboutInfo leaves out
/// `patchLevel` (7.0.2), which older pyvmomi builds would reject.
pub fn service_content_fields(out: &mut String, c: &ServiceContent) {
    moref_el(out, "rootFolder", &c.root_folder.kind, &c.root_folder.value);
    moref_el(
        out,
        "propertyCollector",
        &c.property_collector.kind,
        &c.property_collector.value,
    );
    out.push_str("<about>");
    let a = &c.about;
    for (name, value) in [
        ("name", &a.name),
        ("fullName", &a.full_name),
        ("vendor", &a.vendor),
        ("version", &a.version),
        ("build", &a.build),
        ("osType", &a.os_type),
        ("productLineId", &a.product_line_id),
        ("apiType", &a.api_type),
        ("apiVersion", &a.api_version),
    ] {
        text_el(out, name, value);
    }
    out.push_str("</about>");
    moref_el(
        out,
        "sessionManager",
        &c.session_manager.kind,
        &c.session_manager.value,
    );
}

/// The releases after `RELEASE` in `vimServiceVersions.xml`, newest first, so that older
/// pyvmomi builds without 8.0.3.0 still find a version they speak.
const PRIOR: &[&str] = &[
    "8.0.2.0", "8.0.1.0", "8.0.0.2", "8.0.0.1", "8.0.0.0", "7.0.3.2", "7.0.3.1", "7.0.3.0",
    "7.0.2.1", "7.0.2.0", "7.0.1.1", "7.0.1.0", "7.0.0.2", "7.0.0.0", "6.9.1", "6.8.7", "6.7.3",
    "6.7.2", "6.7.1", "6.7", "6.5", "6.0",
];

/// `/sdk/vimServiceVersions.xml`: root `namespaces` with `version="1.0"` and no XML
/// namespace, as pyvmomi's version negotiation requires.
pub fn versions_document() -> String {
    let prior: String = PRIOR
        .iter()
        .map(|v| format!("      <version>{v}</version>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<namespaces version=\"1.0\">\n  \
         <namespace>\n    <name>urn:vim25</name>\n    <version>{RELEASE}</version>\n    \
         <priorVersions>\n{prior}    </priorVersions>\n  </namespace>\n</namespaces>\n"
    )
}
