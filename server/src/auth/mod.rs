//! Authorization: the tokens this server issues and accepts, the scopes they carry, and
//! what a request may see and change because of them.

pub mod access;
pub mod keys;
pub mod scopes;
pub mod tokens;
