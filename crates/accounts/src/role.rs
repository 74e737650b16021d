use serde::{Deserialize, Serialize};

use crate::AccountsError;

/// What a user may do inside their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the organization, its users, tokens and settings; can do everything else too.
    Admin,
    /// Runs the day-to-day work: inventory, campaigns, imports, jobs.
    Operator,
    /// An advertiser: their own campaigns, balance and reports.
    Advertiser,
    /// Reads reports and dashboards; changes nothing but their own notifications.
    Analyst,
}

impl Role {
    /// Every role, in the order shown in forms.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Advertiser, Role::Analyst];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Advertiser => "advertiser",
            Role::Analyst => "analyst",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(text: &str) -> Result<Role, AccountsError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                AccountsError::invalid(
                    "role",
                    format!("'{text}' is not one of admin, operator, advertiser, analyst"),
                )
            })
    }

    /// May manage users, tokens of others and organization settings.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// May start and manage operational work (imports, builds, jobs).
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert_eq!(Role::parse(" Admin ").unwrap(), Role::Admin);
        assert!(Role::parse("root").is_err());
    }
}
