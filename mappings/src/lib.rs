//! Pure mapping between the platform's records and FHIR resources, one module per resource,
//! and the extraction of search index values from a resource. No IO happens here.

pub mod codes;
pub mod communication;
pub mod dates;
pub mod document;
pub mod error;
pub mod index;
pub mod json;
pub mod medication_statement;
pub mod observation;
pub mod organization;
pub mod patient;
pub mod practitioner;
pub mod references;
mod resource_parts;

pub use error::{MappingError, MappingIssue};
