use helsebro_mappings::patient::TenantContext;

/// A data controller (municipality or clinic). Every record belongs to exactly one.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub org_number: String,
    pub name: String,
    pub municipality_number: Option<String>,
    pub is_test: bool,
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
