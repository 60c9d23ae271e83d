//! How a command ends: the error kinds the binary maps to exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the run failed (ML or the database misbehaved, a safety guard stopped it) |
//! | 2 | bad configuration or input (settings, database URL, inventory schema) |
//! | 3 | another run holds the seller's lock |
//! | 4 | the seller must authorize the app again (the refresh token was refused) |

use std::fmt;

/// A command's failure, with the exit code it maps to.
#[derive(Debug)]
pub enum Failure {
    /// The run was attempted and failed; it is recorded in the run ledger.
    Run(anyhow::Error),
    /// Settings or input are wrong; nothing was attempted.
    Input(anyhow::Error),
    /// Another run of the same seller is in progress.
    Locked { seller_id: u64 },
    /// ML refused the refresh token: a person has to authorize again.
    Reauth(anyhow::Error),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Run(_) => 1,
            Failure::Input(_) => 2,
            Failure::Locked { .. } => 3,
            Failure::Reauth(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Run(e) | Failure::Input(e) | Failure::Reauth(e) => write!(f, "{e:#}"),
            Failure::Locked { seller_id } => write!(
                f,
                "another meli-stock run for seller {seller_id} is in progress; this one exits \
                 without doing anything (it holds the seller's lock until it ends)"
            ),
        }
    }
}

impl std::error::Error for Failure {}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::Input(e.into())
    }
}
