//! AWS plumbing shared by every AWS client of lookout (CloudWatch, SNS, and whatever
//! talks to AWS next): [`sigv4`] signs one HTTP request for a service and region, and
//! [`CredentialChain`] resolves credentials the way the AWS SDKs do, caching temporary
//! ones until shortly before they expire.
//!
//! It deliberately is not the AWS SDK: lookout's AWS calls are a handful of Query-protocol
//! form POSTs, and this crate is a few hundred lines over `reqwest`, with no code
//! generation and the same behaviour against AWS and local emulators.
//!
//! Cost: signing is two SHA-256 digests and six HMACs per request; resolving credentials
//! is free while cached, else at most one short HTTP exchange per link of the chain.

mod chain;
mod container;
mod credentials;
mod env;
mod http;
mod imds;
mod profile;
pub mod sigv4;
mod web_identity;

pub use chain::CredentialChain;
pub use credentials::{parse_credentials_json, Credentials, NoCredentials};
pub use env::Env;
pub use imds::instance_role_credentials;
pub use profile::profile_credentials;
pub use sigv4::{host_header, sign, SignedHeaders, SigningRequest};
pub use web_identity::{assume_role_with_web_identity, WebIdentity};
