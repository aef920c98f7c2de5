//! SOAP faults: the same `Fault` table as the VI/JSON dialect (type name and message come
//! from `error.rs`), encoded as `soapenv:Fault` with HTTP 500 and a typed `<detail>`.

use super::super::dto::MoRef;
use super::super::error::Fault;
use super::envelope::{self, moref_el, text_el};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sessiond_core::CoreError;

/// The longest `faultstring` sent; messages echo client values already bounded in
/// `error.rs`, this only caps the total.
const MESSAGE_LIMIT: usize = 1024;

/// A fault of the SOAP dialect: one of the shared vSphere faults, or `InvalidProperty`, which
/// only `Fetch` and the PropertyCollector (SOAP-only methods) can raise.
#[derive(Debug)]
pub enum SoapFault {
    Vim(Fault),
    InvalidProperty(String),
}

impl From<Fault> for SoapFault {
    fn from(f: Fault) -> Self {
        SoapFault::Vim(f)
    }
}

impl From<CoreError> for SoapFault {
    fn from(e: CoreError) -> Self {
        SoapFault::Vim(e.into())
    }
}

impl SoapFault {
    /// A request the server cannot use: HTTP 500 like every SOAP fault.
    pub fn invalid_request(message: String) -> Self {
        SoapFault::Vim(Fault::InvalidRequest {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        })
    }

    /// The wire type, the `faultstring`, and the fault's own fields as XML.
    pub fn parts(&self) -> (&'static str, String, String) {
        match self {
            SoapFault::Vim(f) => {
                let (kind, message) = f.wire_type_and_faultstring();
                (
                    kind,
                    message.chars().take(MESSAGE_LIMIT).collect(),
                    fields(f),
                )
            }
            SoapFault::InvalidProperty(name) => {
                let mut out = String::new();
                text_el(&mut out, "name", &bounded(name));
                let msg = format!("The property {:?} is not known here.", bounded(name));
                ("InvalidProperty", msg, out)
            }
        }
    }
}

fn bounded(s: &str) -> String {
    s.chars().take(128).collect()
}

fn moref(out: &mut String, name: &str, r: &MoRef) {
    moref_el(out, name, &r.kind, &r.value);
}

/// The fault's own fields, the ones its JSON body has, in WSDL order. NoPermission's
/// `missingPrivileges` (7.0.3) is left out: an element an older pyvmomi does not know is
/// fatal to its deserializer.
pub fn fields(f: &Fault) -> String {
    let mut out = String::new();
    match f {
        Fault::NotAuthenticated { object } => {
            moref(&mut out, "object", object);
            text_el(&mut out, "privilegeId", "System.View");
        }
        Fault::NoPermission { object, privilege } => {
            moref(&mut out, "object", object);
            text_el(&mut out, "privilegeId", privilege);
        }
        Fault::InvalidArgument { property, .. } => text_el(&mut out, "invalidProperty", property),
        Fault::ManagedObjectNotFound { obj } => moref(&mut out, "obj", obj),
        Fault::MethodNotFound { receiver, method } => {
            moref(&mut out, "receiver", receiver);
            text_el(&mut out, "method", &bounded(method));
        }
        Fault::SystemError { reason, .. } => text_el(&mut out, "reason", reason),
        Fault::InvalidLogin { .. }
        | Fault::InvalidLocale
        | Fault::NotFound { .. }
        | Fault::InvalidRequest { .. }
        | Fault::InvalidState { .. } => {}
    }
    out
}

/// Every SOAP fault is HTTP 500 (pyvmomi parses only 200 and 500), whatever status the JSON
/// encoding of the same fault has.
impl IntoResponse for SoapFault {
    fn into_response(self) -> Response {
        let (kind, message, fields) = self.parts();
        if let SoapFault::Vim(Fault::SystemError { reason, .. }) = &self {
            tracing::warn!(%reason, "vsphere soap system error");
        }
        envelope::fault(kind, &message, &fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::Privilege;

    #[test]
    fn faults_share_the_json_table() {
        let f = SoapFault::from(CoreError::Forbidden(Privilege::SessionsTerminate));
        let (kind, msg, fields) = f.parts();
        assert_eq!(kind, "NoPermission");
        assert!(msg.contains("Sessions.TerminateSession"), "{msg}");
        assert_eq!(
            fields,
            "<object type=\"SessionManager\">SessionManager</object>\
             <privilegeId>Sessions.TerminateSession</privilegeId>"
        );
        let (kind, msg, _) = SoapFault::from(CoreError::InvalidCredentials).parts();
        assert_eq!(kind, "InvalidLogin");
        assert!(!msg.is_empty());
    }

    #[test]
    fn every_fault_is_a_500() {
        let r = SoapFault::from(Fault::route_not_found()).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
