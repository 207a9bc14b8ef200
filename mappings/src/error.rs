/// One reason a resource cannot be mapped to a platform record, located by its FHIRPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingIssue {
    pub expression: String,
    pub message: String,
}

/// A resource breaks a rule the platform records or the Norwegian profiles impose.
/// Clients get these as `422 Unprocessable Entity`, one issue each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .issues.iter().map(|i| format!("{}: {}", i.expression, i.message)).collect::<Vec<_>>().join("; "))]
pub struct MappingError {
    pub issues: Vec<MappingIssue>,
}

impl MappingError {
    pub fn single(expression: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![MappingIssue {
                expression: expression.into(),
                message: message.into(),
            }],
        }
    }
}
