//! Signed, expiring click tokens: `base64url(claims) "." base64url(HMAC-SHA256, first 16 bytes)`.
//!
//! The claims are the fields joined by newlines (`imp, org, ad, price, plc, usr, mid, exp`), not
//! JSON: four tokens go out with every ad query, so they are kept short. A field may not contain
//! a newline ([`ClickClaims::clean`] replaces them).
//!
//! The ad query signs what the click will need (impression, ad, price, user, expiry), so a click
//! is verified without any lookup, and a forged or altered token is refused before it reaches
//! the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest token accepted; anything longer is forged.
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a click token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickClaims {
    /// The impression (unique per served ad).
    pub imp: String,
    /// Organization.
    pub org: i64,
    /// Ad.
    pub ad: i64,
    /// The price of the slot in won.
    pub price: i64,
    /// Placement code.
    pub plc: String,
    /// The shop's user key (may be empty).
    pub usr: String,
    /// The site's media key (for the event log).
    pub mid: String,
    /// Expiry (UTC ms).
    pub exp: i64,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// Malformed, altered or signed with another key.
    Forged,
    /// Genuine but past its expiry (what it said, to record against the ad).
    Expired(Box<ClickClaims>),
}

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC-SHA256 tag kept in a token (128 bits).
const TAG_LEN: usize = 16;

/// A signing key with its HMAC key schedule done once; cloning it per token is cheap.
#[derive(Clone)]
pub struct TokenKey(HmacSha256);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// The key for `secret`.
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length.
        TokenKey(
            HmacSha256::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key")),
        )
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

impl ClickClaims {
    /// The text fields with newlines replaced, so the claims encode unambiguously.
    pub fn clean(mut self) -> Self {
        for field in [&mut self.imp, &mut self.plc, &mut self.usr, &mut self.mid] {
            if field.contains(['\n', '\r']) {
                *field = field.replace(['\n', '\r'], " ");
            }
        }
        self
    }

    #[cfg(test)]
    fn encode(&self) -> String {
        let mut body = String::new();
        self.fields().write_body(&mut body);
        body
    }

    fn fields(&self) -> ClaimFields<'_> {
        ClaimFields {
            imp: &self.imp,
            org: self.org,
            ad: self.ad,
            price: self.price,
            plc: &self.plc,
            usr: &self.usr,
            mid: &self.mid,
            exp: self.exp,
        }
    }

    fn decode(text: &str) -> Option<ClickClaims> {
        let mut parts = text.split('\n');
        let claims = ClickClaims {
            imp: parts.next()?.to_owned(),
            org: parts.next()?.parse().ok()?,
            ad: parts.next()?.parse().ok()?,
            price: parts.next()?.parse().ok()?,
            plc: parts.next()?.to_owned(),
            usr: parts.next()?.to_owned(),
            mid: parts.next()?.to_owned(),
            exp: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(claims)
    }
}

/// The claims borrowed, for signing without copying (the ad query signs four per request).
/// Text fields must not contain newlines.
#[derive(Debug, Clone, Copy)]
pub struct ClaimFields<'a> {
    /// The impression.
    pub imp: &'a str,
    /// Organization.
    pub org: i64,
    /// Ad.
    pub ad: i64,
    /// The price of the slot in won.
    pub price: i64,
    /// Placement code.
    pub plc: &'a str,
    /// The shop's user key.
    pub usr: &'a str,
    /// The site's media key.
    pub mid: &'a str,
    /// Expiry (UTC ms).
    pub exp: i64,
}

impl ClaimFields<'_> {
    fn write_body(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.imp, self.org, self.ad, self.price, self.plc, self.usr, self.mid, self.exp
        );
    }
}

/// Appends the token for `fields` to `out`; `scratch` is reused between calls.
pub fn sign_into(key: &TokenKey, fields: &ClaimFields<'_>, scratch: &mut String, out: &mut String) {
    scratch.clear();
    fields.write_body(scratch);
    let tag = key.tag(scratch.as_bytes());
    URL_SAFE_NO_PAD.encode_string(scratch.as_bytes(), out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, out);
}

/// Signs `claims` with `key` (newlines in text fields become spaces).
pub fn sign(key: &TokenKey, claims: &ClickClaims) -> String {
    let clean = claims.clone().clean();
    let mut token = String::new();
    sign_into(key, &clean.fields(), &mut String::new(), &mut token);
    token
}

/// Checks the signature and the expiry at `now` (UTC ms).
pub fn verify(key: &TokenKey, token: &str, now: i64) -> Result<ClickClaims, TokenProblem> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenProblem::Forged);
    }
    let (body, tag) = token.split_once('.').ok_or(TokenProblem::Forged)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenProblem::Forged)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenProblem::Forged)?;
    let expected = key.tag(&body);
    // Constant-time comparison of the tags.
    if tag.len() != TAG_LEN
        || tag
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
    {
        return Err(TokenProblem::Forged);
    }
    let claims = std::str::from_utf8(&body)
        .ok()
        .and_then(ClickClaims::decode)
        .ok_or(TokenProblem::Forged)?;
    if now > claims.exp {
        return Err(TokenProblem::Expired(Box::new(claims)));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims() -> ClickClaims {
        ClickClaims {
            imp: "a1b2".into(),
            org: 1,
            ad: 42,
            price: 180,
            plc: "home_top".into(),
            usr: "u-1".into(),
            mid: "shop".into(),
            exp: 10_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign(&TokenKey::new(b"secret"), &claims());
        assert_eq!(
            verify(&TokenKey::new(b"secret"), &token, 10_000),
            Ok(claims())
        );
        assert_eq!(
            verify(&TokenKey::new(b"secret"), &token, 10_001),
            Err(TokenProblem::Expired(Box::new(claims())))
        );
        assert_eq!(
            verify(&TokenKey::new(b"other"), &token, 0),
            Err(TokenProblem::Forged)
        );
    }

    #[test]
    fn an_altered_price_is_forged() {
        let token = sign(&TokenKey::new(b"secret"), &claims());
        let (_, signature) = token.split_once('.').unwrap_or_default();
        let mut cheaper = claims();
        cheaper.price = 1;
        let body = URL_SAFE_NO_PAD.encode(cheaper.encode());
        assert_eq!(
            verify(&TokenKey::new(b"secret"), &format!("{body}.{signature}"), 0),
            Err(TokenProblem::Forged)
        );
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert_eq!(
                verify(&TokenKey::new(b"secret"), junk, 0),
                Err(TokenProblem::Forged)
            );
        }
        assert_eq!(
            verify(&TokenKey::new(b"secret"), &"a".repeat(MAX_TOKEN_LEN + 1), 0),
            Err(TokenProblem::Forged)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_verifies_and_never_panics(text in ".{0,300}") {
            prop_assert!(verify(&TokenKey::new(b"secret"), &text, 0).is_err());
        }

        #[test]
        fn any_claims_round_trip(imp in "[a-f0-9]{1,32}", ad in 1i64..i64::MAX, price in 0i64..1_000_000, usr in ".{0,40}", exp in 0i64..i64::MAX) {
            let claims = ClickClaims { imp, org: 3, ad, price, plc: "p".into(), usr, mid: "m".into(), exp };
            let token = sign(&TokenKey::new(b"k"), &claims);
            prop_assert_eq!(verify(&TokenKey::new(b"k"), &token, 0), Ok(claims.clean()));
        }

        #[test]
        fn flipping_any_character_is_detected(position in 0usize..200) {
            let token = sign(&TokenKey::new(b"secret"), &claims());
            let position = position % token.len();
            let mut bytes = token.into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(verify(&TokenKey::new(b"secret"), &altered, 0).is_err());
        }
    }
}
