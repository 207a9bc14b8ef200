//! What a valid resource is: the R4 core structure (from the vendored StructureDefinitions),
//! Norwegian identifier checks, validation against the R4 core invariants and terminology and
//! the carried profiles (`validate`), and JSON/XML conversion through fhirbolt's R4 model.
//!
//! This crate holds the heavy, rarely changing parts (fhirbolt's R4 model, the vendored
//! definitions) so that the server crate recompiles quickly.

pub mod format;
pub mod identifiers;
pub mod structure;
pub mod summary;
pub mod validate;
