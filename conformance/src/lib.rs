//! What Helsebro serves, in one registry: the router dispatches from it and the
//! CapabilityStatement is written from it, so `/metadata` never claims what the server
//! does not do. The TestScript engine (`testscript`) checks a server against R4 TestScripts.

pub mod capability;
pub mod registry;
pub mod testscript;
