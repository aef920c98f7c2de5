//! JSON or XML, both ways: the response format a request's `Accept` asks for (every answer,
//! errors included), the XML writer for answers, and the request-body extractor that reads a
//! JSON or XML document by its `Content-Type`.

use super::error::{CvError, ErrorBody};
use super::xml::{self, Element};
use crate::extract::BodyError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const XML_CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// The response format of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Reads `Accept`: XML when an XML type (`application/xml`, `text/xml`, `…+xml`) has a
    /// higher quality than every JSON type; JSON otherwise, which covers no `Accept`, `*/*`,
    /// `application/json` and types this dialect does not produce (Commvault's own default
    /// for a client that names no format is JSON, DESIGN.md §5).
    pub fn from_headers(headers: &HeaderMap) -> Format {
        let (mut xml_q, mut json_q) = (0.0f32, 0.0f32);
        for value in headers.get_all(header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                if media == "application/xml" || media == "text/xml" || media.ends_with("+xml") {
                    xml_q = xml_q.max(q);
                } else if media == "application/json" || media.ends_with("+json") {
                    json_q = json_q.max(q);
                }
            }
        }
        if xml_q > 0.0 && xml_q > json_q {
            Format::Xml
        } else {
            Format::Json
        }
    }

    /// Renders an answer: `json` as JSON, or the XML element `xml` builds.
    pub fn render<T: Serialize>(
        self,
        status: StatusCode,
        json: &T,
        xml: impl FnOnce() -> XmlOut,
    ) -> Response {
        match self {
            Format::Json => (status, axum::Json(json)).into_response(),
            Format::Xml => xml_response(status, xml().to_string()),
        }
    }
}

/// Never fails: a request without a usable `Accept` gets JSON.
impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Format::from_headers(&parts.headers))
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(XML_CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

/// Middleware on the dialect's router: errors are rendered as JSON by `CvError` (which has
/// no request at hand) and carry their `ErrorBody`; when the request asked for XML, the
/// body is rewritten here as `<Api_GenericResp …/>`. Covers extractor rejections and the
/// fallbacks, which never see the `Accept` header themselves.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let format = Format::from_headers(req.headers());
    let resp = next.run(req).await;
    in_format(format, resp)
}

/// An answer in `format`: an error answer (which carries its `ErrorBody`) is rewritten as
/// XML when `format` is XML; everything else is left as it is.
pub fn in_format(format: Format, resp: Response) -> Response {
    if format == Format::Json {
        return resp;
    }
    let Some(err) = resp.extensions().get::<ErrorBody>().cloned() else {
        return resp;
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(XML_CONTENT_TYPE),
    );
    Response::from_parts(parts, Body::from(err.to_xml().to_string()))
}

/// An XML element to write: attributes and child elements, no text (Commvault's answers
/// carry everything in attributes).
#[derive(Debug, Clone)]
pub struct XmlOut {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    children: Vec<XmlOut>,
}

impl XmlOut {
    pub fn new(name: &'static str) -> Self {
        XmlOut {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }
    pub fn attr(mut self, name: &'static str, value: impl ToString) -> Self {
        self.attrs.push((name, value.to_string()));
        self
    }
    pub fn child(mut self, c: XmlOut) -> Self {
        self.children.push(c);
        self
    }
    pub fn children(mut self, cs: impl IntoIterator<Item = XmlOut>) -> Self {
        self.children.extend(cs);
        self
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_attr(v, out);
            out.push('"');
        }
        if self.children.is_empty() {
            // The seed's own answer is written `<Api_LogoffUsersResponse />`.
            out.push_str(" />");
        } else {
            out.push('>');
            for c in &self.children {
                c.write(out);
            }
            out.push_str("</");
            out.push_str(self.name);
            out.push('>');
        }
    }
}

impl std::fmt::Display for XmlOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// Escapes an attribute value. Tabs and line breaks become character references (a reader
/// would otherwise normalise them to spaces); other control characters, which XML 1.0
/// cannot carry at all, become U+FFFD.
fn escape_attr(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// A request document, JSON or XML by `Content-Type`.
pub enum Doc {
    Json(Bytes),
    Xml(Element),
}

/// The document kind a `Content-Type` names, if this dialect reads it.
fn doc_kind(headers: &HeaderMap) -> Option<Format> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = ct.split(';').next()?.trim().to_ascii_lowercase();
    if media == "application/json" || media.ends_with("+json") {
        Some(Format::Json)
    } else if media == "application/xml" || media == "text/xml" || media.ends_with("+xml") {
        Some(Format::Xml)
    } else {
        None
    }
}

impl<S: Send + Sync> FromRequest<S> for Doc {
    type Rejection = CvError;

    async fn from_request(req: Request, state: &S) -> Result<Self, CvError> {
        let kind = doc_kind(req.headers()).ok_or(CvError::ContentType)?;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                CvError::Body(BodyError::TooLarge)
            } else {
                CvError::Body(BodyError::Read(e.body_text()))
            }
        })?;
        match kind {
            Format::Json => Ok(Doc::Json(bytes)),
            Format::Xml => Ok(Doc::Xml(xml::parse(&bytes)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(accept: Option<&str>) -> Format {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_str(a).expect("header"));
        }
        Format::from_headers(&h)
    }

    #[test]
    fn accept_chooses_the_format() {
        assert_eq!(fmt(None), Format::Json);
        assert_eq!(fmt(Some("*/*")), Format::Json);
        assert_eq!(fmt(Some("application/json")), Format::Json);
        assert_eq!(fmt(Some("application/xml")), Format::Xml);
        assert_eq!(fmt(Some("text/xml")), Format::Xml);
        assert_eq!(fmt(Some("application/xml, */*")), Format::Xml);
        assert_eq!(fmt(Some("application/json, application/xml")), Format::Json);
        assert_eq!(
            fmt(Some("application/json;q=0.5, application/xml")),
            Format::Xml
        );
        assert_eq!(fmt(Some("application/xml;q=0")), Format::Json);
        assert_eq!(fmt(Some("text/html")), Format::Json);
    }

    #[test]
    fn xml_writer_escapes() {
        let x = XmlOut::new("r")
            .attr("a", "<\"&'>\n\u{1}")
            .child(XmlOut::new("c"));
        assert_eq!(
            x.to_string(),
            "<r a=\"&lt;&quot;&amp;&apos;&gt;&#10;\u{fffd}\"><c /></r>"
        );
        assert_eq!(
            XmlOut::new("Api_LogoffUsersResponse").to_string(),
            "<Api_LogoffUsersResponse />"
        );
    }
}
