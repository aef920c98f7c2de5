//! SOAP 1.1 envelopes: reading a request (through the Commvault dialect's hardened reader:
//! no DTDs, bounded depth and size) into its method call, and writing answers in the shape
//! pyvmomi's deserializer needs (shared/protocols/vsphere-soap.md §5).

use super::faults::SoapFault;
use crate::commvault::xml::{self, Element};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::partial_escape;

/// Every answer's content type; pyvmomi checks only the status and parses the body.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The envelope up to the Body's content; `xsi` is declared because `xsi:type` appears on
/// anyType slots and fault details, `xsd` because `xsd:dateTime` values name it.
const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<soapenv:Body>";
const TAIL: &str = "</soapenv:Body>\n</soapenv:Envelope>";

/// A managed object reference as a request names it (`<_this type="T">id</_this>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjRef {
    pub kind: String,
    pub id: String,
}

impl ObjRef {
    pub fn of(el: &Element) -> ObjRef {
        ObjRef {
            kind: el.attr("type").unwrap_or_default().to_string(),
            id: el.text.trim().to_string(),
        }
    }
}

/// One method call: its name, its `_this`, and the method element for its parameters.
pub struct Call {
    pub method: String,
    pub this: Option<ObjRef>,
    pub params: Element,
}

/// The child elements of `el` named `name` (local name: a prefix is ignored).
pub fn children<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.children.iter().filter(move |c| c.local_name() == name)
}

/// The text of the first child named `name`.
pub fn text_of<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    first(el, name).map(|c| c.text.as_str())
}

/// The first child named `name`.
pub fn first<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    el.children.iter().find(|c| c.local_name() == name)
}

/// The text of a required parameter; its absence is the request's fault, as vCenter says.
pub fn required<'a>(call: &'a Call, name: &str) -> Result<&'a str, SoapFault> {
    text_of(&call.params, name).ok_or_else(|| {
        SoapFault::invalid_request(format!(
            "required parameter {name} of {} is missing",
            call.method
        ))
    })
}

/// The child named `name`, taken out of `el` (a 5 MB TerminateSession is not copied).
fn take_child(el: Element, name: &str) -> Result<Element, SoapFault> {
    el.children
        .into_iter()
        .find(|c| c.local_name() == name)
        .ok_or_else(|| SoapFault::invalid_request(format!("the SOAP request has no {name}")))
}

/// Parses a request body into its call. Anything that is not one well-formed SOAP envelope
/// with a method in its Body is an InvalidRequest fault.
pub fn parse_call(body: &[u8]) -> Result<Call, SoapFault> {
    let root = xml::parse(body).map_err(|e| SoapFault::invalid_request(e.to_string()))?;
    if root.local_name() != "Envelope" {
        return Err(SoapFault::invalid_request(
            "the request is not a SOAP envelope".into(),
        ));
    }
    let method = take_child(root, "Body")?
        .children
        .into_iter()
        .next()
        .ok_or_else(|| SoapFault::invalid_request("the SOAP Body names no method".into()))?;
    Ok(Call {
        method: method.local_name().to_string(),
        this: first(&method, "_this").map(ObjRef::of),
        params: method,
    })
}

/// Text escaped for element content (pyvmomi escapes `& < >` only, and so do we).
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    partial_escape(s)
}

/// `<name>text</name>`, the text escaped.
pub fn text_el(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>", esc(text)));
}

/// `<name type="T">id</name>`: a MoRef field.
pub fn moref_el(out: &mut String, name: &str, kind: &str, id: &str) {
    out.push_str(&format!(
        "<{name} type=\"{}\">{}</{name}>",
        quick_xml::escape::escape(kind),
        esc(id)
    ));
}

fn xml_response(status: StatusCode, inner: &str) -> Response {
    let body = format!("{HEAD}{inner}{TAIL}");
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

/// A 200 answer `<{method}Response xmlns="urn:vim25">{inner}</…>`; `inner` holds the
/// `returnval` elements, or nothing for a void or unset result.
pub fn answer(method: &str, inner: &str) -> Response {
    let el = format!("<{method}Response xmlns=\"urn:vim25\">{inner}</{method}Response>");
    xml_response(StatusCode::OK, &el)
}

/// A 500 answer holding `soapenv:Fault`; `faultstring` and `detail` carry no namespace, as
/// pyvmomi reads only un-namespaced ones.
pub fn fault(type_name: &str, message: &str, fields: &str) -> Response {
    let el = format!(
        "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>{}</faultstring>\
         <detail><{type_name}Fault xmlns=\"urn:vim25\" xsi:type=\"{type_name}\">{fields}\
         </{type_name}Fault></detail></soapenv:Fault>",
        esc(message)
    );
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, &el)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_transcripts_request() {
        let req = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
            xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n<soapenv:Body>\
            <TerminateSession xmlns=\"urn:vim25\"><_this versionId=\"8.0.3.0\" \
            type=\"SessionManager\">SessionManager</_this><sessionId>a</sessionId>\
            <sessionId>b</sessionId></TerminateSession></soapenv:Body>\n</soapenv:Envelope>";
        let call = parse_call(req.as_bytes()).expect("parses");
        assert_eq!(call.method, "TerminateSession");
        let this = call.this.clone().expect("_this");
        assert_eq!(
            (this.kind.as_str(), this.id.as_str()),
            ("SessionManager", "SessionManager")
        );
        let ids: Vec<&str> = children(&call.params, "sessionId")
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn non_envelopes_are_refused() {
        for bad in [
            "<a/>",
            "<s:Envelope xmlns:s=\"x\"/>",
            "<s:Envelope xmlns:s=\"x\"><s:Body/></s:Envelope>",
            "not xml",
        ] {
            assert!(parse_call(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
