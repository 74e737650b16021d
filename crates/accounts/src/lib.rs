//! `adpool-accounts`: who may do what, in which organization.
//!
//! It owns organizations (tenants), users and their [`Role`]s, argon2id password hashing,
//! server-side sessions, API tokens for machine clients, and login throttling. Every function
//! that reads or changes tenant data takes the caller's [`OrgId`] and never crosses it: an
//! object of another organization is reported as [`AccountsError::NotFound`], exactly as if it
//! did not exist.
//!
//! It has no HTTP in it: the web crate turns cookies and headers into calls here.
//!
//! ```no_run
//! # async fn demo(db: adpool_store::Db) -> Result<(), adpool_accounts::AccountsError> {
//! use adpool_accounts::{Accounts, NewUser, Role};
//! let accounts = Accounts::new(db, std::sync::Arc::new(adpool_core::SystemClock));
//! let org = accounts.create_organization("Demo Media").await?;
//! let user = accounts.create_user(NewUser {
//!     org_id: org.id, email: "ops@demo.kr".into(), display_name: "Ops".into(),
//!     role: Role::Operator, password: "correct horse battery".into(),
//! }).await?;
//! # Ok(()) }
//! ```

mod error;
mod organizations;
mod password;
mod role;
mod secrets;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub use adpool_core::{OrgId, UserId};
pub use error::AccountsError;
pub use organizations::{Organization, OrganizationUpdate};
pub use role::Role;
pub use sessions::{NewSession, SESSION_TTL_MILLIS, Session};
pub use throttle::{LoginAttempt, LoginThrottle};
pub use tokens::{ApiToken, NewApiToken};
pub use users::{NewUser, User, UserUpdate};

use adpool_core::SharedClock;
use adpool_store::Db;

/// The accounts service: a database and a clock.
#[derive(Clone, Debug)]
pub struct Accounts {
    db: Db,
    clock: SharedClock,
    throttle: LoginThrottle,
    outbound: adpool_outbound::OutboundRules,
}

impl Accounts {
    /// Accounts on `db`, with time from `clock` and the default login throttle.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Accounts {
            db,
            clock,
            throttle: LoginThrottle::default(),
            outbound: adpool_outbound::OutboundRules::default(),
        }
    }

    /// Replaces the rules a webhook URL must pass (public hosts only by default).
    pub fn with_outbound_rules(mut self, rules: adpool_outbound::OutboundRules) -> Self {
        self.outbound = rules;
        self
    }

    /// Replaces the login throttle limits.
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = throttle;
        self
    }

    /// The database these accounts live in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}
