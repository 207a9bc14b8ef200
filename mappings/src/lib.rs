//! Pure mapping between the platform's records and FHIR resources, one module per resource,
//! and the extraction of search index values from a resource. No IO happens here.

pub mod dates;
pub mod error;
pub mod index;
pub mod json;
pub mod patient;

pub use error::{MappingError, MappingIssue};
