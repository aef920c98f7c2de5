//! The safe XML reader of the Commvault dialect: a request body becomes a small element tree,
//! or a clear error, before anything acts on it.
//!
//! Safety rules (DESIGN.md §5, §8): no DOCTYPE at all (so no entity declarations, no
//! "billion laughs", no external entities); only the five predefined entities and character
//! references; nesting at most [`MAX_DEPTH`]; at most [`MAX_ELEMENTS`] elements and
//! [`MAX_ATTRIBUTES`] attributes per element, so that memory stays proportional to a small
//! multiple of the body (whose size the router already caps at 8 MiB); UTF-8 only.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Deepest element nesting accepted. Commvault requests are two or three levels deep.
pub const MAX_DEPTH: usize = 32;
/// Most elements in one document: above the registry's 100,000 ids per bulk request, so
/// that limit (not this one) is what a large but honest logoff meets.
pub const MAX_ELEMENTS: usize = 200_000;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 64;

/// Why a body is not an acceptable XML document. Every variant is a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("XML documents with a DOCTYPE are not accepted (no DTDs or entity declarations)")]
    DocType,
    #[error("XML nesting deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("XML document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("XML element <{0}> has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes(String),
    #[error(
        "unknown XML entity &{0}; (only &lt; &gt; &amp; &apos; &quot; and character references)"
    )]
    UnknownEntity(String),
    #[error("XML body is not UTF-8")]
    NotUtf8,
    #[error("XML encoding {0:?} is not supported (only UTF-8)")]
    Encoding(String),
    #[error("XML body has no root element")]
    NoRoot,
    #[error("XML body has content after the root element")]
    TrailingContent,
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// One element: its name, attributes (unescaped, in document order), child elements and the
/// concatenated character data directly inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element name without a namespace prefix (`a:Foo` → `Foo`).
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn open(e: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = std::str::from_utf8(e.name().as_ref())
        .map_err(|_| XmlError::NotUtf8)?
        .to_string();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(malformed)?;
        if attrs.len() == MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes(name));
        }
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|_| XmlError::NotUtf8)?
            .to_string();
        // Only predefined entities resolve; `&x;` of any other name is an error, which the
        // resolver reports as unrecognized.
        let value =
            a.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, ent),
                    ) => XmlError::UnknownEntity(ent),
                    other => malformed(other),
                })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

/// The element tree while it is read: the open elements, the finished root, how many
/// elements so far.
#[derive(Default)]
struct Tree {
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl Tree {
    /// A start tag (`has_content`: its end tag comes later) or an empty element.
    fn element(&mut self, e: &BytesStart<'_>, has_content: bool) -> Result<(), XmlError> {
        if self.root.is_some() {
            return Err(XmlError::TrailingContent);
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(XmlError::TooManyElements);
        }
        let el = open(e)?;
        if !has_content {
            self.attach(el);
        } else if self.stack.len() == MAX_DEPTH {
            return Err(XmlError::TooDeep);
        } else {
            self.stack.push(el);
        }
        Ok(())
    }

    /// An end tag; the reader has matched its name against the open element already.
    fn end(&mut self) -> Result<(), XmlError> {
        let el = self
            .stack
            .pop()
            .ok_or_else(|| malformed("unmatched end tag"))?;
        self.attach(el);
        Ok(())
    }

    /// A finished element goes to its parent, or becomes the root.
    fn attach(&mut self, el: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }

    /// Character data: inside an element it is that element's text; outside, only
    /// whitespace is allowed.
    fn text(&mut self, s: &str) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(el) => el.text.push_str(s),
            None if s.trim().is_empty() => {}
            None if self.root.is_some() => return Err(XmlError::TrailingContent),
            None => return Err(malformed("text outside the root element")),
        }
        Ok(())
    }

    /// Text that may only be inside an element (CDATA, a resolved reference): `what` names it
    /// in the error otherwise.
    fn inner_text(&mut self, s: &str, what: &str) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(el) => {
                el.text.push_str(s);
                Ok(())
            }
            None => Err(malformed(format!("{what} outside the root element"))),
        }
    }

    fn finish(self) -> Result<Element, XmlError> {
        if !self.stack.is_empty() {
            return Err(malformed("unclosed element at end of document"));
        }
        self.root.ok_or(XmlError::NoRoot)
    }
}

/// The XML declaration: only UTF-8 is accepted.
fn check_decl(d: &BytesDecl<'_>) -> Result<(), XmlError> {
    if let Some(enc) = d.encoding() {
        let enc = enc.map_err(malformed)?;
        let enc = String::from_utf8_lossy(&enc).to_string();
        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
            return Err(XmlError::Encoding(enc));
        }
    }
    Ok(())
}

/// A character reference or one of the five predefined entities; any other entity is
/// refused.
fn resolve_ref(r: &BytesRef<'_>) -> Result<String, XmlError> {
    if r.is_char_ref() {
        return r
            .resolve_char_ref()
            .map_err(malformed)?
            .map(String::from)
            .ok_or_else(|| malformed("bad character reference"));
    }
    let name = r.decode().map_err(malformed)?;
    resolve_predefined_entity(&name)
        .map(str::to_string)
        .ok_or_else(|| XmlError::UnknownEntity(name.to_string()))
}

/// Parses `body` into its root element under the rules of this module.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    // A UTF-8 byte order mark is legal before the declaration.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    // Defaults already check end names (`</a >` is trimmed to `a`) and duplicate attributes.
    reader.config_mut().check_end_names = true;
    reader.config_mut().trim_markup_names_in_closing_tags = true;

    let mut tree = Tree::default();
    let mut seen_markup = false;
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) if seen_markup => {
                return Err(malformed("XML declaration not at the start"))
            }
            Event::Decl(d) => check_decl(&d)?,
            Event::Start(e) => tree.element(&e, true)?,
            Event::Empty(e) => tree.element(&e, false)?,
            Event::End(_) => tree.end()?,
            Event::Text(t) => {
                tree.text(&t.xml_content(XmlVersion::Implicit1_0).map_err(malformed)?)?
            }
            Event::CData(c) => tree.inner_text(&c.decode().map_err(malformed)?, "CDATA")?,
            Event::GeneralRef(r) => tree.inner_text(&resolve_ref(&r)?, "entity reference")?,
            // Comments and processing instructions carry nothing a request needs.
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
        seen_markup = true;
    }
    tree.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 004's sample request, byte for byte (declaration, indentation, `</… >`).
    const SEED: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n <Api_LogoffUsersRequest>\n   <sessions val=\"EMCAE92D1DD-0C68-49A6-BEBB-404D96D7A4BF\"/>\n   <sessions val=\"CF1C660B-396F-44B7-86DA-5608CEC97453\"/>\n</Api_LogoffUsersRequest >\n";

    #[test]
    fn seed_sample_parses() {
        let root = parse(SEED.as_bytes()).expect("seed parses");
        assert_eq!(root.name, "Api_LogoffUsersRequest");
        let vals: Vec<&str> = root.children.iter().filter_map(|c| c.attr("val")).collect();
        assert_eq!(
            vals,
            [
                "EMCAE92D1DD-0C68-49A6-BEBB-404D96D7A4BF",
                "CF1C660B-396F-44B7-86DA-5608CEC97453"
            ]
        );
    }

    #[test]
    fn entities_and_references() {
        let r = parse(b"<a v=\"x&amp;y&#65;\">1&lt;2&#x42;<![CDATA[<c>]]></a>").expect("ok");
        assert_eq!(r.attr("v"), Some("x&yA"));
        assert_eq!(r.text, "1<2B<c>");
        assert_eq!(
            parse(b"<a>&lol;</a>"),
            Err(XmlError::UnknownEntity("lol".into()))
        );
        assert_eq!(
            parse(b"<a v=\"&lol;\"/>"),
            Err(XmlError::UnknownEntity("lol".into()))
        );
    }

    #[test]
    fn doctype_is_refused_before_any_expansion() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
                      <!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><a>&lol2;</a>";
        assert_eq!(parse(laughs.as_bytes()), Err(XmlError::DocType));
        let ext = "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
        assert_eq!(parse(ext.as_bytes()), Err(XmlError::DocType));
    }

    /// A deterministic mutation sweep over the seed and a DOCTYPE document: truncations and
    /// byte substitutions (markup characters favoured) must give `Ok` or an error, never a
    /// panic. (A coverage-guided fuzz target would belong to the workspace's fuzz setup.)
    #[test]
    fn mutations_never_panic() {
        let docs = [
            SEED.as_bytes().to_vec(),
            b"<!DOCTYPE a [<!ENTITY x \"y\">]><a b=\"&x;\">&#x41;<![CDATA[z]]></a>".to_vec(),
        ];
        let alphabet = b"<>/=\"'&;#x![]?- \n\taQ\xff\xc3";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for doc in &docs {
            for cut in 0..=doc.len() {
                let _ = parse(&doc[..cut]);
            }
            for _ in 0..5_000 {
                let mut d = doc.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() % d.len() as u64) as usize;
                    d[i] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
                let _ = parse(&d);
            }
        }
    }

    #[test]
    fn limits_and_shape() {
        let deep = format!("{}{}", "<a>".repeat(33), "</a>".repeat(33));
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
        let ok = format!("{}{}", "<a>".repeat(32), "</a>".repeat(32));
        assert!(parse(ok.as_bytes()).is_ok());
        assert_eq!(parse(b"  "), Err(XmlError::NoRoot));
        assert_eq!(parse(b"<a/><b/>"), Err(XmlError::TrailingContent));
        assert_eq!(parse(b"<a/>x"), Err(XmlError::TrailingContent));
        assert!(matches!(parse(b"<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"<a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse(b"<a x=\"1\" x=\"2\"/>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse(b"<a>\xff</a>"), Err(XmlError::NotUtf8));
        assert!(matches!(
            parse(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>"),
            Err(XmlError::Encoding(_))
        ));
        let attrs: String = (0..65).map(|i| format!(" a{i}=\"1\"")).collect();
        assert!(matches!(
            parse(format!("<a{attrs}/>").as_bytes()),
            Err(XmlError::TooManyAttributes(_))
        ));
        // A BOM and comments around the root are fine.
        assert!(parse("\u{feff}<!-- c --><a/><!-- d -->".as_bytes()).is_ok());
    }
}
