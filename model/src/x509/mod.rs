//! The PKI of the common-certificate system: real X.509, issued with `rcgen`
//! and checked with `x509-parser` and `ring`.
//!
//! The patent's certificate authority issues each user one certificate that
//! many services accept. This module makes that certificate a genuine RFC 5280
//! certificate, so that what the model checker and the simulator exercise is
//! the same byte-level object an outside tool (`openssl verify`) would judge.
//! Laid out as rustls-webpki lays out its own:
//!
//! * [`issue`]: [`CertificateAuthority`], a self-signed Ed25519 root that
//!   issues user certificates ([`CertificateAuthority::issue`]);
//! * [`verify_cert`]: [`TrustAnchor`], what a relying service holds, and
//!   [`TrustAnchor::verify_certificate`], an ordered list of checks in the
//!   manner of webpki that names the first one that fails with a precise
//!   [`Rejection`];
//! * [`crl`]: CRLs ([`CertificateAuthority::crl`], [`TrustAnchor::verify_crl_info`]);
//! * [`csr`]: PKCS#10 certification requests, the hardening `csr`
//!   ([`csr::request`], [`csr::verify_request`]);
//! * [`proof`]: the "proof of possession" reading of the protocol: the
//!   presenter signs a service-chosen nonce ([`challenge_bytes`], [`verify_proof`]);
//! * [`arena`]: what parties hold instead of bytes: small handles ([`CertId`],
//!   [`CrlId`], [`SigId`]) into the run's [`Arena`], which issues and verifies
//!   each object once and remembers the verdicts;
//! * [`signed_data`], [`der`], [`time`], [`keys`]: the Ed25519 framing, DER
//!   details, virtual time and deterministic keys they share;
//! * [`pem`]: export for outside tools;
//! * `forge`: deliberately bad certificates, for tests only.
//!
//! Everything is deterministic. Keys come from [`key_seed`] (ChaCha20 keyed by
//! the run's seed), Ed25519 signatures are deterministic, and time is
//! [`VirtualTime`], never the wall clock; so the same seed reproduces every
//! certificate, CRL and signature byte for byte, which is what makes model
//! checker states and simulator traces replayable.
//!
//! Untrusted input (certificate and CRL bytes, proofs) never panics: every
//! failure is a [`Rejection`].

pub mod arena;
pub mod crl;
pub mod csr;
pub mod der;
pub mod issue;
pub mod keys;
pub mod pem;
pub mod proof;
pub mod signed_data;
pub mod time;
pub mod verify_cert;

#[cfg(any(test, feature = "forge"))]
pub mod forge;

#[cfg(test)]
mod tests;

pub use crate::rejection::Rejection;
pub use arena::{Arena, CertId, CrlId, CsrId, Memo, SigId};
pub use crl::CrlInfo;
pub use csr::CsrInfo;
pub use der::{Der, serial_from_integer_content};
pub use issue::{CertRequest, CertificateAuthority, PkiError};
pub use keys::{KeyStream, SigningKey, derive_key, key_seed};
pub use pem::{export_pem, pem, sanitise_file_stem};
pub use proof::{
    BOUND_PROOF_DOMAIN, PROOF_DOMAIN, bound_challenge_bytes, challenge_bytes, verify_proof,
};
pub use time::{
    CRL_VALIDITY, DAY, EPOCH_UNIX_SECONDS, ROOT_VALIDITY, VirtualTime, asn1_time,
    virtual_time_from_unix_seconds,
};
pub use verify_cert::{CertInfo, TrustAnchor};
