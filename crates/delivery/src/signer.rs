//! The signer of Security Event Tokens (RFC 8417): compact RS256 JWS with the `secevent+jwt`
//! type, keyed by the RFC 7638 thumbprint of the shared RSA key, and the JWKS that lets
//! receivers verify them. ring does the RSA (constant-time; the `rsa` crate only ever
//! generates the key elsewhere, because its signing has a timing side channel,
//! RUSTSEC-2023-0071).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde::Serialize;
use serde_json::{json, Value};

/// The smallest modulus accepted, in bits: what SSF receivers (and NIST) expect of RS256.
pub const MIN_MODULUS_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error(
        "the event-signing key is smaller than RSA-{MIN_MODULUS_BITS}; generate a new one \
         (`sessiond admin keygen`)"
    )]
    KeyTooSmall,
    /// ring's reason (e.g. `InvalidEncoding`, `WrongAlgorithm`): a fixed word, never any
    /// key bytes.
    #[error("the event-signing key is not a usable PKCS#8 RSA private key: {0}")]
    InvalidKey(String),
    #[error("the claims of a security event token must be a JSON object")]
    ClaimsNotObject,
    #[error("cannot encode the claims of a security event token: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("RSA signing failed")]
    Sign,
}

/// Signs Security Event Tokens with one RSA key. Holds the private key: build it once and
/// share it (it is `Send + Sync`); `Debug` shows only the public `kid`.
pub struct EventSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
    kid: String,
    /// The public modulus and exponent, base64url without padding, as the JWKS gives them.
    n: String,
    e: String,
}

impl std::fmt::Debug for EventSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The protected header; a struct so that the member order is fixed (declaration order),
/// whatever serde_json's map features are.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
}

impl EventSigner {
    /// Builds the signer from a PKCS#8 (v1) DER RSA private key, refusing keys under
    /// [`MIN_MODULUS_BITS`].
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignerError> {
        let key = RsaKeyPair::from_pkcs8(der).map_err(|e| {
            // ring refuses moduli under 2048 bits itself (reason "TooSmall"); name that case
            // for what it is, so the operator reads "too small", not a parse failure.
            let reason = e.to_string();
            if reason == "TooSmall" {
                SignerError::KeyTooSmall
            } else {
                SignerError::InvalidKey(reason)
            }
        })?;
        // Our own floor too, so it holds whatever ring's floor becomes.
        if key.public().modulus_len() * 8 < MIN_MODULUS_BITS {
            return Err(SignerError::KeyTooSmall);
        }
        let components: RsaPublicKeyComponents<Vec<u8>> = key.public().into();
        let kid = jwk_thumbprint(&components.n, &components.e);
        Ok(EventSigner {
            key,
            rng: SystemRandom::new(),
            kid,
            n: URL_SAFE_NO_PAD.encode(&components.n),
            e: URL_SAFE_NO_PAD.encode(&components.e),
        })
    }

    /// The key id: the RFC 7638 JWK thumbprint of the public key, so every replica holding
    /// the same key names it the same way without configuration.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS (`header.payload.signature`) over `claims`, which must be a JSON
    /// object; the protected header is exactly
    /// `{"alg":"RS256","kid":<kid>,"typ":"secevent+jwt"}`.
    pub fn sign(&self, claims: &Value) -> Result<String, SignerError> {
        if !claims.is_object() {
            return Err(SignerError::ClaimsNotObject);
        }
        let header = serde_json::to_vec(&Header {
            alg: "RS256",
            kid: &self.kid,
            typ: "secevent+jwt",
        })?;
        let payload = serde_json::to_vec(claims)?;
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, jws.as_bytes(), &mut signature)
            .map_err(|_| SignerError::Sign)?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jws)
    }

    /// The JWK Set receivers verify with (the transmitter's `jwks_uri`).
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }
}

/// The RFC 7638 thumbprint of an RSA public key given as big-endian unsigned bytes without
/// leading zeros: base64url (no padding) of SHA-256 over the canonical JWK
/// `{"e":..,"kty":"RSA","n":..}` (required members only, lexicographic order, no spaces).
pub fn jwk_thumbprint(n: &[u8], e: &[u8]) -> String {
    // base64url needs no JSON escaping, so the canonical form can be written directly.
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::RSA_PKCS1_2048_8192_SHA256;
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use std::sync::OnceLock;

    /// A fresh key of `bits`, as PKCS#8 DER, and the rsa crate's view of it (to check the
    /// JWKS against a second implementation).
    fn generate(bits: usize) -> (Vec<u8>, rsa::RsaPrivateKey) {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("generate");
        let der = key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec();
        (der, key)
    }

    /// One RSA-2048 key for the whole module: generation is the slow part.
    fn key2048() -> &'static (Vec<u8>, rsa::RsaPrivateKey) {
        static KEY: OnceLock<(Vec<u8>, rsa::RsaPrivateKey)> = OnceLock::new();
        KEY.get_or_init(|| generate(2048))
    }

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).expect("base64url")
    }

    fn jwk_member(jwks: &Value, name: &str) -> String {
        jwks["keys"][0][name]
            .as_str()
            .unwrap_or_else(|| panic!("jwks member {name}: {jwks}"))
            .to_string()
    }

    #[test]
    fn ssf_signature_verifies_with_the_published_jwks() {
        let (der, rsa_key) = key2048();
        let signer = EventSigner::from_pkcs8(der).expect("signer");
        let claims = json!({
            "iss": "https://sessiond.example",
            "jti": "4d3559ec67504aaba65d40b0363faad8",
            "iat": 1_700_000_000,
            "aud": "https://receiver.example",
            "events": {
                "https://schemas.openid.net/secevent/caep/event-type/session-revoked": {
                    "subject": {"format": "opaque", "id": "01J0000000000000000000000"},
                    "event_timestamp": 1_700_000_000
                }
            }
        });
        let jws = signer.sign(&claims).expect("sign");
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3, "{jws}");

        let jwks = signer.jwks();
        let n = b64(&jwk_member(&jwks, "n"));
        let e = b64(&jwk_member(&jwks, "e"));
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &b64(parts[2]),
            )
            .expect("the JWKS key verifies the signature");
        // A changed payload must not verify with it.
        let tampered = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"{\"x\":1}"));
        assert!(RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                tampered.as_bytes(),
                &b64(parts[2])
            )
            .is_err());

        let payload: Value = serde_json::from_slice(&b64(parts[1])).expect("payload JSON");
        assert_eq!(payload, claims);

        // The JWKS against a second implementation: unsigned big-endian, no leading zeros.
        assert_eq!(n, rsa_key.n().to_bytes_be());
        assert_eq!(e, rsa_key.e().to_bytes_be());
        assert_eq!(e, [1, 0, 1]);
        assert_eq!(n.len(), 256);
        assert_eq!(
            jwks,
            json!({"keys": [{
                "kty": "RSA", "use": "sig", "alg": "RS256",
                "kid": signer.kid(),
                "n": jwk_member(&jwks, "n"), "e": "AQAB"
            }]})
        );
        assert_eq!(signer.kid(), jwk_thumbprint(&n, &e));
    }

    #[test]
    fn ssf_header_is_exactly_the_set_header() {
        let signer = EventSigner::from_pkcs8(&key2048().0).expect("signer");
        let jws = signer.sign(&json!({"jti": "1"})).expect("sign");
        let header = jws.split('.').next().expect("header part");
        let text = String::from_utf8(b64(header)).expect("utf-8 header");
        assert_eq!(
            text,
            format!(
                r#"{{"alg":"RS256","kid":"{}","typ":"secevent+jwt"}}"#,
                signer.kid()
            )
        );
    }

    #[test]
    fn ssf_kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 section 3.1's example key and its thumbprint.
        let n = b64(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B\
             JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F\
             DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4\
             vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        );
        let e = b64("AQAB");
        assert_eq!(
            jwk_thumbprint(&n, &e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn ssf_small_and_malformed_keys_are_refused() {
        let (der1024, _) = generate(1024);
        assert!(matches!(
            EventSigner::from_pkcs8(&der1024),
            Err(SignerError::KeyTooSmall)
        ));
        let e = EventSigner::from_pkcs8(b"not a key").expect_err("garbage");
        assert!(
            matches!(&e, SignerError::InvalidKey(r) if r == "InvalidEncoding"),
            "{e}"
        );
        let mut truncated = key2048().0.clone();
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            EventSigner::from_pkcs8(&truncated),
            Err(SignerError::InvalidKey(_))
        ));
    }

    #[test]
    fn ssf_claims_must_be_an_object_and_debug_hides_the_key() {
        let signer = EventSigner::from_pkcs8(&key2048().0).expect("signer");
        assert!(matches!(
            signer.sign(&json!(["not", "an", "object"])),
            Err(SignerError::ClaimsNotObject)
        ));
        assert_eq!(
            format!("{signer:?}"),
            format!("EventSigner {{ kid: {:?}, .. }}", signer.kid())
        );
    }
}
