//! Black-box tests over HTTP. Each test runs on SQLite and on PostgreSQL.

mod audit;
mod authorization;
mod backend_services;
mod browser;
mod capability;
mod clinical_examples;
mod communication;
mod encryption;
mod erasure;
mod errors;
mod everything;
mod external_issuers;
mod formats;
mod import;
mod medication_statement;
mod observation;
mod practitioner_organization;
mod r4_examples;
mod references;
mod rest;
mod search_patient;
mod smart_launch;
mod smoke;
mod spec_testscripts;
mod tls;
mod upstream_sign_in;
