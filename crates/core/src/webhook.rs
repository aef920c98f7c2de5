//! Standard Webhooks: a webhook's settings, its secret (`whsec_…`, shown once), the
//! signature of each delivery, and which targets are refused (no SSRF into the operator's
//! own network unless allowed).

use crate::events::EventType;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::IpAddr;

/// What a webhook sink keeps in its `config`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    /// Empty: every type.
    #[serde(default)]
    pub types: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The prefix Standard Webhooks gives secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: 32 random bytes. Returns (the bytes, their `whsec_` form).
pub fn new_secret() -> Result<(Vec<u8>, String), getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key)?;
    let text = format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    Ok((key.to_vec(), text))
}

/// The `webhook-signature` header of a delivery: `v1,` and the base64 HMAC-SHA256, keyed
/// with the secret's bytes, of `{id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Whether an address is one a webhook may not target unless private targets are allowed:
/// loopback, private (RFC 1918, unique local), link-local, shared (CGNAT), unspecified,
/// multicast, broadcast, documentation, and IPv4-mapped forms of those.
pub fn is_private_target(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_target(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xFE00) == 0xFC00
                || (seg[0] & 0xFFC0) == 0xFE80
                || (seg[0] == 0x2001 && seg[1] == 0x0DB8)
        }
    }
}

/// Why a webhook URL is refused, if it is: not http(s), credentials in it, no host, or (when
/// private targets are not allowed) a literal private address or a local name. Names that
/// resolve to private addresses are refused at delivery, where they are resolved.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    let u = url::Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("a webhook URL must be http or https".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("a webhook URL must not carry credentials".into());
    }
    if u.fragment().is_some() {
        return Err("a webhook URL has no fragment".into());
    }
    let host = match u.host() {
        Some(h) => h,
        None => return Err("a webhook URL needs a host".into()),
    };
    if !allow_private {
        let private = match host {
            url::Host::Ipv4(a) => is_private_target(IpAddr::V4(a)),
            url::Host::Ipv6(a) => is_private_target(IpAddr::V6(a)),
            url::Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
        };
        if private {
            return Err(format!(
                "{} is a loopback, link-local or private address; the server refuses such \
                 targets unless started with --webhooks-allow-private",
                u.host_str().unwrap_or_default()
            ));
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp
    /// 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn the_specification_example_signs_as_published() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_default();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, text) = new_secret().unwrap_or_default();
        let (b, _) = new_secret().unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.trim_start_matches(SECRET_PREFIX))
            .unwrap_or_default();
        assert_eq!(decoded, a);
    }

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for bad in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest/meta-data",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
            assert!(
                check_url(bad, true).is_ok(),
                "{bad} with private targets allowed"
            );
        }
        assert!(check_url("https://hooks.example.com/in", false).is_ok());
        assert!(check_url("https://93.184.216.34/in", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "https://u:p@example.com/",
            "not a url",
            "http://x/#f",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }
}
