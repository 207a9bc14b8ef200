//! What Helsebro serves, in one registry: the router dispatches from it and the
//! CapabilityStatement is written from it, so `/metadata` never claims what the server
//! does not do.

pub mod capability;
pub mod registry;
