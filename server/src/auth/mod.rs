//! Authorization: the tokens this server issues and accepts, the scopes they carry, and
//! what a request may see and change because of them.

pub mod access;
pub mod authorize;
pub mod bearer;
pub mod client_assertion;
pub mod client_auth;
pub mod client_credentials;
pub mod code_grant;
pub mod consent;
pub mod discovery;
pub mod dpop;
pub mod external;
pub mod flow;
pub mod grant_log;
pub mod id_token;
pub mod introspection;
pub mod keys;
pub mod launch;
pub mod oauth_error;
pub mod pages;
pub mod patient_picker;
pub mod refresh_grant;
pub mod registration;
pub mod revocation;
pub mod scopes;
pub mod secrets;
pub mod sign_in;
pub mod token_endpoint;
pub mod tokens;
pub mod upstream;
pub mod user_tokens;
pub mod verified;
