//! Proof of possession: the presenter signs a service-chosen nonce with the
//! key its certificate certifies.

use ring::signature as ring_sig;

use crate::rejection::Rejection;

/// Domain-separation tag of proof-of-possession messages, so that a proof can
/// never be mistaken for (or replayed as) any other signature made by a user key.
pub const PROOF_DOMAIN: &[u8] = b"commoncert/proof-of-possession/v1\0";

/// The bytes a user signs to prove possession of its certificate's key: the
/// domain tag, the service id (length-prefixed, so that no two (service, nonce)
/// pairs give the same bytes) and the service-chosen nonce.
pub fn challenge_bytes(service: &str, nonce: u64) -> Vec<u8> {
    let mut msg = Vec::with_capacity(PROOF_DOMAIN.len() + 8 + service.len() + 8);
    msg.extend_from_slice(PROOF_DOMAIN);
    let len = u64::try_from(service.len()).unwrap_or(u64::MAX);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(service.as_bytes());
    msg.extend_from_slice(&nonce.to_be_bytes());
    msg
}

/// Domain tag of the `pop-binding` proofs: a different tag, so that a
/// proof of one kind can never verify as the other.
pub const BOUND_PROOF_DOMAIN: &[u8] = b"commoncert/proof-of-possession/v2-bound\0";

/// The bytes a user signs under the `pop-binding` hardening: the tag, the
/// service (length-prefixed), the nonce, the SHA-256 of the certificate's
/// DER, and the purpose (length-prefixed). A proof made to use a service
/// is then no consent to qualify it, and a proof made with one certificate
/// does not vouch for another certificate of the same key.
pub fn bound_challenge_bytes(
    service: &str,
    nonce: u64,
    certificate_sha256: &[u8],
    purpose: &str,
) -> Vec<u8> {
    let mut msg = Vec::with_capacity(
        BOUND_PROOF_DOMAIN.len() + 8 + service.len() + 8 + 8 + certificate_sha256.len() + 8,
    );
    msg.extend_from_slice(BOUND_PROOF_DOMAIN);
    for field in [
        service.as_bytes(),
        &nonce.to_be_bytes(),
        certificate_sha256,
        purpose.as_bytes(),
    ] {
        let len = u64::try_from(field.len()).unwrap_or(u64::MAX);
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(field);
    }
    msg
}

/// Verify an Ed25519 `signature` of `message` by `public_key` (a certificate's
/// key). [`Rejection::BadProof`] if it does not verify, whatever the reason
/// (wrong key, wrong message, wrong length, non-canonical encoding).
pub fn verify_proof(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Rejection> {
    ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, public_key)
        .verify(message, signature)
        .map_err(|_| Rejection::BadProof)
}
