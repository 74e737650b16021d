//! Advertisers: sign-up, the review queue, approval or rejection with a reason.

use adpool_core::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Serving, ServingError};

/// Where an advertiser is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvertiserState {
    /// Signed up, waiting for an admin.
    Pending,
    /// May top up and run campaigns.
    Approved,
    /// Refused, with a reason.
    Rejected,
}

impl AdvertiserState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdvertiserState::Pending => "pending",
            AdvertiserState::Approved => "approved",
            AdvertiserState::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<Self, sqlx::Error> {
        match text {
            "pending" => Ok(AdvertiserState::Pending),
            "approved" => Ok(AdvertiserState::Approved),
            "rejected" => Ok(AdvertiserState::Rejected),
            other => Err(sqlx::Error::Decode(
                format!("unknown advertiser state {other}").into(),
            )),
        }
    }
}

/// A sign-up.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SignUp {
    /// Business (trade) name.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    pub business_name: String,
    /// Business registration number (사업자등록번호), `123-45-67890` or ten digits, the last a
    /// check digit.
    #[schema(pattern = "^[0-9]{3}-?[0-9]{2}-?[0-9]{5}$")]
    pub registration_number: String,
    /// Contact person.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 60)]
    pub contact_name: String,
    /// Contact email.
    #[schema(format = Email, max_length = 200)]
    pub contact_email: String,
    /// Contact phone.
    #[schema(pattern = "^[0-9+][0-9 +-]{0,19}$")]
    pub contact_phone: String,
}

impl SignUp {
    /// Checks every field; the first problem is returned with its field name.
    pub fn validate(&self) -> Result<SignUp, ServingError> {
        let required = |field: &'static str, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() {
                Err(ServingError::invalid(field, "is required"))
            } else if value.chars().count() > max {
                Err(ServingError::invalid(
                    field,
                    format!("is longer than {max} characters"),
                ))
            } else {
                Ok(value.to_owned())
            }
        };
        let business_name = required("business_name", &self.business_name, 100)?;
        let number = required("registration_number", &self.registration_number, 20)?;
        let registration_number = valid_registration_number(&number).ok_or_else(|| {
            ServingError::invalid(
                "registration_number",
                format!("'{number}' is not a valid business registration number (10 digits, check digit)"),
            )
        })?;
        let contact_name = required("contact_name", &self.contact_name, 60)?;
        let contact_email = required("contact_email", &self.contact_email, 200)?;
        if !contact_email.contains('@') || contact_email.starts_with('@') {
            return Err(ServingError::invalid(
                "contact_email",
                format!("'{contact_email}' is not an email address"),
            ));
        }
        let contact_phone = required("contact_phone", &self.contact_phone, 20)?;
        if !contact_phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+'))
        {
            return Err(ServingError::invalid(
                "contact_phone",
                format!("'{contact_phone}' is not a phone number"),
            ));
        }
        Ok(SignUp {
            business_name,
            registration_number,
            contact_name,
            contact_email,
            contact_phone,
        })
    }
}

/// The check digit of the first nine digits of a Korean business registration number: weights
/// 1,3,7,1,3,7,1,3,5, plus the ninth digit times 5 divided by 10; the digit is
/// (10 - sum mod 10) mod 10.
fn check_digit(nine: &[u32]) -> u32 {
    const WEIGHTS: [u32; 9] = [1, 3, 7, 1, 3, 7, 1, 3, 5];
    let sum: u32 = nine.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() + nine[8] * 5 / 10;
    (10 - sum % 10) % 10
}

fn digits(text: &str) -> Option<Vec<u32>> {
    text.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_digit(10))
        .collect()
}

fn formatted(digits: &[u32]) -> String {
    let s: String = digits
        .iter()
        .filter_map(|d| char::from_digit(*d, 10))
        .collect();
    format!("{}-{}-{}", &s[0..3], &s[3..5], &s[5..10])
}

/// A Korean business registration number as `123-45-67890` when its check digit is right.
pub fn valid_registration_number(text: &str) -> Option<String> {
    let digits = digits(text)?;
    (digits.len() == 10 && check_digit(&digits[..9]) == digits[9]).then(|| formatted(&digits))
}

/// The registration number (`123-45-67890`) that nine digits make with their check digit.
pub fn with_check_digit(nine_digits: &str) -> Option<String> {
    let mut digits = digits(nine_digits)?;
    if digits.len() != 9 {
        return None;
    }
    digits.push(check_digit(&digits));
    Some(formatted(&digits))
}

/// An advertiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advertiser {
    /// Its id.
    pub id: i64,
    /// The user who signed up.
    pub user_id: Option<i64>,
    /// Business name.
    pub business_name: String,
    /// Business registration number.
    pub registration_number: String,
    /// Contact person.
    pub contact_name: String,
    /// Contact email.
    pub contact_email: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Review state.
    pub state: AdvertiserState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Balance in won.
    pub balance: i64,
    /// Signed up at (UTC ms).
    pub created_at: i64,
    /// Reviewed at (UTC ms).
    pub reviewed_at: Option<i64>,
}

const ADVERTISER_SELECT: &str = "SELECT id, user_id, business_name, registration_number, contact_name, contact_email, contact_phone, state, rejection_reason, balance, created_at, reviewed_at FROM cpc_advertisers";

impl Advertiser {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Advertiser {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            business_name: row.try_get("business_name")?,
            registration_number: row.try_get("registration_number")?,
            contact_name: row.try_get("contact_name")?,
            contact_email: row.try_get("contact_email")?,
            contact_phone: row.try_get("contact_phone")?,
            state: AdvertiserState::parse(&row.try_get::<String, _>("state")?)?,
            rejection_reason: row.try_get("rejection_reason")?,
            balance: row.try_get("balance")?,
            created_at: row.try_get("created_at")?,
            reviewed_at: row.try_get("reviewed_at")?,
        })
    }
}

impl Serving {
    /// Files a sign-up for review. `user` is the account that will manage it.
    pub async fn sign_up(
        &self,
        org: OrgId,
        user: Option<UserId>,
        sign_up: &SignUp,
    ) -> Result<Advertiser, ServingError> {
        let sign_up = sign_up.validate()?;
        self.check_registration_free(org, &sign_up.registration_number)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cpc_advertisers (org_id, user_id, business_name, registration_number, contact_name, contact_email, contact_phone, state, balance, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8) RETURNING id",
        )
        .bind(org.get())
        .bind(user.map(|u| u.get()))
        .bind(&sign_up.business_name)
        .bind(&sign_up.registration_number)
        .bind(&sign_up.contact_name)
        .bind(&sign_up.contact_email)
        .bind(&sign_up.contact_phone)
        .bind(self.now())
        .fetch_one(self.db().pool())
        .await?;
        self.advertiser(org, id).await
    }

    /// Refuses a registration number already signed up in `org` (checked before an account is
    /// created for the sign-up, so a refused sign-up leaves nothing behind).
    pub async fn check_registration_free(
        &self,
        org: OrgId,
        registration_number: &str,
    ) -> Result<(), ServingError> {
        let normalized = valid_registration_number(registration_number)
            .unwrap_or_else(|| registration_number.to_owned());
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cpc_advertisers WHERE org_id = $1 AND registration_number = $2",
        )
        .bind(org.get())
        .bind(&normalized)
        .fetch_one(self.db().pool())
        .await?;
        if taken > 0 {
            return Err(ServingError::Conflict(format!(
                "registration_number: {normalized} has already signed up"
            )));
        }
        Ok(())
    }

    /// One advertiser of `org`.
    pub async fn advertiser(&self, org: OrgId, id: i64) -> Result<Advertiser, ServingError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADVERTISER_SELECT} WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.get())
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(ServingError::NotFound)?;
        Ok(Advertiser::from_row(&row)?)
    }

    /// The advertiser a user manages, if any.
    pub async fn advertiser_of_user(
        &self,
        org: OrgId,
        user: UserId,
    ) -> Result<Option<Advertiser>, ServingError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADVERTISER_SELECT} WHERE org_id = $1 AND user_id = $2 ORDER BY id LIMIT 1"
        )))
        .bind(org.get())
        .bind(user.get())
        .fetch_optional(self.db().pool())
        .await?;
        Ok(row.as_ref().map(Advertiser::from_row).transpose()?)
    }

    /// Advertisers of `org`, optionally in one state, newest first.
    pub async fn advertisers(
        &self,
        org: OrgId,
        state: Option<AdvertiserState>,
    ) -> Result<Vec<Advertiser>, ServingError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADVERTISER_SELECT} WHERE org_id = $1 AND ($2 = '' OR state = $2) ORDER BY id DESC"
        )))
        .bind(org.get())
        .bind(state.map_or("", AdvertiserState::as_str))
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(Advertiser::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Approves a pending (or previously rejected) advertiser.
    pub async fn approve_advertiser(
        &self,
        org: OrgId,
        id: i64,
        by: UserId,
    ) -> Result<Advertiser, ServingError> {
        self.review_advertiser(org, id, by, AdvertiserState::Approved, None)
            .await
    }

    /// Rejects an advertiser with a reason (required).
    pub async fn reject_advertiser(
        &self,
        org: OrgId,
        id: i64,
        by: UserId,
        reason: &str,
    ) -> Result<Advertiser, ServingError> {
        let reason = crate::error::note("reason", reason)?;
        if reason.is_empty() {
            return Err(ServingError::invalid(
                "reason",
                "a rejection needs a reason",
            ));
        }
        self.review_advertiser(org, id, by, AdvertiserState::Rejected, Some(reason))
            .await
    }

    async fn review_advertiser(
        &self,
        org: OrgId,
        id: i64,
        by: UserId,
        to: AdvertiserState,
        reason: Option<&str>,
    ) -> Result<Advertiser, ServingError> {
        let current = self.advertiser(org, id).await?;
        if current.state == AdvertiserState::Approved && to == AdvertiserState::Rejected {
            return Err(ServingError::Conflict(format!(
                "{} is already approved; pause its campaigns instead",
                current.business_name
            )));
        }
        if current.state == to {
            return Ok(current);
        }
        sqlx::query(
            "UPDATE cpc_advertisers SET state = $1, rejection_reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE org_id = $5 AND id = $6",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(by.get())
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        self.advertiser(org, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn registration_numbers_are_checked_and_normalized() {
        // 220-81-62517 is a published example with a valid check digit.
        assert_eq!(
            valid_registration_number("2208162517").as_deref(),
            Some("220-81-62517")
        );
        assert_eq!(
            valid_registration_number("220-81-62517").as_deref(),
            Some("220-81-62517")
        );
        assert_eq!(valid_registration_number("220-81-62518"), None);
        assert_eq!(valid_registration_number("220-81-6251"), None);
        assert_eq!(valid_registration_number("22O-81-62517"), None);
    }

    #[test]
    fn a_sign_up_names_the_field_that_is_wrong() {
        let good = SignUp {
            business_name: "캠핑월드".into(),
            registration_number: "220-81-62517".into(),
            contact_name: "김민수".into(),
            contact_email: "ads@camping.kr".into(),
            contact_phone: "010-1234-5678".into(),
        };
        assert!(good.validate().is_ok());
        let mut bad = good.clone();
        bad.contact_email = "nobody".into();
        assert!(matches!(
            bad.validate(),
            Err(ServingError::Invalid {
                field: "contact_email",
                ..
            })
        ));
        let mut bad = good;
        bad.business_name = "  ".into();
        assert!(matches!(
            bad.validate(),
            Err(ServingError::Invalid {
                field: "business_name",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_fits_any_nine_digits(prefix in "[0-9]{9}") {
            let valid: Vec<u32> = (0..10)
                .filter(|d| valid_registration_number(&format!("{prefix}{d}")).is_some())
                .collect();
            prop_assert_eq!(valid.len(), 1);
            let completed = with_check_digit(&prefix).unwrap_or_default();
            prop_assert_eq!(valid_registration_number(&completed), Some(completed.clone()));
        }
    }
}
