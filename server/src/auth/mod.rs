//! Authorization: the tokens this server issues and accepts, the scopes they carry, and
//! what a request may see and change because of them.

pub mod access;
pub mod bearer;
pub mod client_assertion;
pub mod discovery;
pub mod dpop;
pub mod external;
pub mod introspection;
pub mod keys;
pub mod oauth_error;
pub mod revocation;
pub mod scopes;
pub mod token_endpoint;
pub mod tokens;
