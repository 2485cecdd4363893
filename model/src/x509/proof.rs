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
