use helsebro_mappings::patient::TenantContext;

/// A data controller (municipality or clinic). Every record belongs to exactly one.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub org_number: String,
    pub name: String,
    pub municipality_number: Option<String>,
    pub is_test: bool,
    /// What its clients' writes must conform to; read with the tenant on every request
    /// (with the access grant), so a change applies at once in every server process.
    pub write_validation: ValidationLevel,
}

impl Tenant {
    pub fn mapping_context(&self) -> TenantContext {
        TenantContext {
            is_test: self.is_test,
            org_number: self.org_number.clone(),
            name: self.name.clone(),
        }
    }
}

/// What a tenant's writes must conform to. Each tenant chooses, because a municipality
/// whose EHR only accepts Norwegian-profiled data wants refusals at the door, while a
/// platform migrating older data may only be able to promise R4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationLevel {
    /// R4 core, plus the profiles a resource claims in `meta.profile` that we carry.
    #[default]
    Core,
    /// The Norwegian profile of the resource's type (no-basis, VKP, ours for Communication).
    Norwegian,
}

impl ValidationLevel {
    /// The value stored in `tenants.write_validation` and given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationLevel::Core => "core",
            ValidationLevel::Norwegian => "norwegian",
        }
    }

    /// The stored value; anything unreadable is `core` (the migration's default).
    pub fn read(stored: Option<String>) -> Self {
        stored.as_deref().and_then(Self::parse).unwrap_or_default()
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "core" => Some(ValidationLevel::Core),
            "norwegian" => Some(ValidationLevel::Norwegian),
            _ => None,
        }
    }
}
