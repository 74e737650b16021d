//! Signed, expiring click tokens: `base64url(claims JSON) "." base64url(HMAC-SHA256)`.
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

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

/// Signs `claims` with `secret`.
pub fn sign(secret: &[u8], claims: &ClickClaims) -> String {
    let body = serde_json::to_vec(claims).unwrap_or_default();
    let mut mac = mac(secret);
    mac.update(&body);
    let signature = mac.finalize().into_bytes();
    let mut token = URL_SAFE_NO_PAD.encode(&body);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// Checks the signature and the expiry at `now` (UTC ms).
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<ClickClaims, TokenProblem> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenProblem::Forged);
    }
    let (body, signature) = token.split_once('.').ok_or(TokenProblem::Forged)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenProblem::Forged)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenProblem::Forged)?;
    let mut mac = mac(secret);
    mac.update(&body);
    mac.verify_slice(&signature)
        .map_err(|_| TokenProblem::Forged)?;
    let claims: ClickClaims = serde_json::from_slice(&body).map_err(|_| TokenProblem::Forged)?;
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
        let token = sign(b"secret", &claims());
        assert_eq!(verify(b"secret", &token, 10_000), Ok(claims()));
        assert_eq!(
            verify(b"secret", &token, 10_001),
            Err(TokenProblem::Expired(Box::new(claims())))
        );
        assert_eq!(verify(b"other", &token, 0), Err(TokenProblem::Forged));
    }

    #[test]
    fn an_altered_price_is_forged() {
        let token = sign(b"secret", &claims());
        let (_, signature) = token.split_once('.').unwrap_or_default();
        let mut cheaper = claims();
        cheaper.price = 1;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cheaper).unwrap_or_default());
        assert_eq!(
            verify(b"secret", &format!("{body}.{signature}"), 0),
            Err(TokenProblem::Forged)
        );
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert_eq!(verify(b"secret", junk, 0), Err(TokenProblem::Forged));
        }
        assert_eq!(
            verify(b"secret", &"a".repeat(MAX_TOKEN_LEN + 1), 0),
            Err(TokenProblem::Forged)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_verifies_and_never_panics(text in ".{0,300}") {
            prop_assert!(verify(b"secret", &text, 0).is_err());
        }

        #[test]
        fn any_claims_round_trip(imp in "[a-f0-9]{1,32}", ad in 1i64..i64::MAX, price in 0i64..1_000_000, usr in ".{0,40}", exp in 0i64..i64::MAX) {
            let claims = ClickClaims { imp, org: 3, ad, price, plc: "p".into(), usr, mid: "m".into(), exp };
            let token = sign(b"k", &claims);
            prop_assert_eq!(verify(b"k", &token, 0), Ok(claims));
        }

        #[test]
        fn flipping_any_character_is_detected(position in 0usize..200) {
            let token = sign(b"secret", &claims());
            let position = position % token.len();
            let mut bytes = token.into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(verify(b"secret", &altered, 0).is_err());
        }
    }
}
