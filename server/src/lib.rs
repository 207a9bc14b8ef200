//! Helsebro: a FHIR R4 facade over a Norwegian remote-care platform's records.
//!
//! Layers, outermost first: `fhir` (HTTP, formats, interactions, search) → `write_path`
//! (the one way records change) → `store` (SQL on SQLite or PostgreSQL). Mapping between
//! records and resources lives in the `helsebro-mappings` crate, structure and identifier
//! checks in `helsebro-profiles`, the registry and CapabilityStatement in
//! `helsebro-conformance`.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod edi_inbox;
pub mod export;
pub mod fhir;
pub mod import;
pub mod jft;
pub mod master_key;
pub mod reindex;
pub mod retention;
pub mod served;
pub mod store;
pub mod tenant;
pub mod tls;
pub mod vkp;
pub mod write_path;
