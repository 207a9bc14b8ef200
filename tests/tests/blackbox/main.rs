//! Black-box tests over HTTP. Each test runs on SQLite and on PostgreSQL.

mod capability;
mod errors;
mod formats;
mod r4_examples;
mod rest;
mod search_patient;
mod smoke;
mod spec_testscripts;
