//! `helsebro tenant …`: settings an operator makes for one tenant.

use clap::Subcommand;
use helsebro::tenant::ValidationLevel;

use super::{open_state, tenant_named, Database};

#[derive(Subcommand)]
pub enum TenantCommand {
    /// What the tenant's writes must conform to: `core` (R4, and the profiles a resource
    /// claims) or `norwegian` (the no-basis/VKP profile of its type). Without --level,
    /// prints the current level. Applies from the next write on.
    Validation {
        #[command(flatten)]
        db: Database,
        /// The tenant's organisation number.
        #[arg(long)]
        tenant: String,
        /// `core` or `norwegian`.
        #[arg(long, value_parser = parse_level)]
        level: Option<ValidationLevel>,
    },
}

fn parse_level(value: &str) -> Result<ValidationLevel, String> {
    ValidationLevel::parse(value).ok_or_else(|| format!("'{value}' is neither core nor norwegian"))
}

pub async fn run(command: TenantCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        TenantCommand::Validation { db, tenant, level } => {
            let state = open_state(db.url).await?;
            let tenant = tenant_named(&state, Some(tenant)).await?;
            if let Some(level) = level {
                if !state.store.set_write_validation(&tenant.id, level).await? {
                    return Err(format!("tenant {} disappeared", tenant.org_number).into());
                }
            }
            let now = level.unwrap_or(tenant.write_validation);
            println!("{}: write validation {}", tenant.org_number, now.as_str());
        }
    }
    Ok(())
}
