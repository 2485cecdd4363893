//! Deterministic key material: every key is derived from the run's seed,
//! so that certificates, CRLs and signatures are reproducible byte for byte.

use crate::x509::der::hex;
use std::fmt;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};

/// Which independent stream of key material a seed feeds.
///
/// Each party kind draws its keys from its own ChaCha20 stream, so adding a
/// user never changes the CA's or an attacker's key for the same seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyStream {
    /// The certificate authority's root key (and impostor CAs in tests).
    Ca,
    /// Users' certificate keys.
    User,
    /// Services' own keys, should they need any.
    Service,
    /// Keys an attacker generates for itself.
    Attacker,
}

impl KeyStream {
    /// The ChaCha20 stream number. Fixed forever: changing one changes every
    /// key, certificate and trace derived from a seed.
    const fn stream_id(self) -> u64 {
        match self {
            KeyStream::Ca => 0x6363_0001,
            KeyStream::User => 0x6363_0002,
            KeyStream::Service => 0x6363_0003,
            KeyStream::Attacker => 0x6363_0004,
        }
    }
}

/// 32 bytes of key seed for key number `index` of `stream` under `seed`.
///
/// ChaCha20 keyed by `seed` (via `seed_from_u64`), on the stream chosen by
/// `stream`, at word position `8 * index`: each (stream, index) pair reads its
/// own non-overlapping 32-byte block of keystream, so keys are deterministic
/// and independent per stream and index.
pub fn key_seed(seed: u64, stream: KeyStream, index: u64) -> [u8; 32] {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream.stream_id());
    // 32 bytes = 8 words of 32 bits; u128 cannot overflow.
    rng.set_word_pos(u128::from(index) * 8);
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}

/// The Ed25519 key for `(seed, stream, index)`; shorthand for
/// `SigningKey::from_seed(&key_seed(seed, stream, index))`.
pub fn derive_key(seed: u64, stream: KeyStream, index: u64) -> SigningKey {
    SigningKey::from_seed(&key_seed(seed, stream, index))
}

/// An Ed25519 key derived from 32 seed bytes. Signing is deterministic
/// (RFC 8032), which keeps every certificate and proof reproducible.
///
/// Cheap to clone; `Debug` shows only the public key.
///
/// The key pair is expanded from the seed on first use: a workload of a
/// million users holds a million keys, most of which never sign, and the
/// expansion (a scalar multiplication) is the costly part.
#[derive(Clone)]
pub struct SigningKey(Arc<SigningKeyInner>);

pub(super) struct SigningKeyInner {
    seed: [u8; 32],
    /// Boxed: an unexpanded key costs a pointer, not the pair's size.
    pair: std::sync::OnceLock<Box<(Ed25519KeyPair, [u8; 32])>>,
}

impl SigningKey {
    /// The key whose RFC 8032 private seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(Arc::new(SigningKeyInner {
            seed: *seed,
            pair: std::sync::OnceLock::new(),
        }))
    }

    fn pair(&self) -> &(Ed25519KeyPair, [u8; 32]) {
        self.0.pair.get_or_init(|| {
            // ring only rejects seeds of the wrong length, and the type fixes
            // the length at 32; Ed25519 public keys are always 32 bytes.
            // Neither branch can be taken, whatever the seed.
            let Ok(pair) = Ed25519KeyPair::from_seed_unchecked(&self.0.seed) else {
                unreachable!("ring accepts every 32-byte Ed25519 seed")
            };
            let Ok(public) = <[u8; 32]>::try_from(pair.public_key().as_ref()) else {
                unreachable!("Ed25519 public keys are 32 bytes")
            };
            Box::new((pair, public))
        })
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.pair().1
    }

    /// The 64-byte Ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair().0.sign(msg).as_ref().to_vec()
    }

    /// The private key as RFC 8410 PKCS#8 v1 (`OneAsymmetricKey` without the
    /// public key), the form `rcgen::KeyPair::try_from` and `openssl` read.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = Vec::with_capacity(PREFIX.len() + 32);
        der.extend_from_slice(&PREFIX);
        der.extend_from_slice(&self.0.seed);
        der
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &hex(self.pair().1.iter()))
            .field("secret", &"[elided]")
            .finish()
    }
}

impl rcgen::PublicKeyData for SigningKey {
    fn der_bytes(&self) -> &[u8] {
        &self.pair().1
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// Signs directly with ring, so rcgen needs no PKCS#8 round trip and the
/// signature stays deterministic.
impl rcgen::SigningKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(SigningKey::sign(self, msg))
    }
}

/// A subject public key rcgen writes into a certificate: raw key bytes and
/// the algorithm that says how to encode its SubjectPublicKeyInfo.
pub(super) struct RawPublicKey<'a> {
    pub(super) alg: &'static rcgen::SignatureAlgorithm,
    pub(super) bytes: &'a [u8],
}

impl rcgen::PublicKeyData for RawPublicKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.bytes
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}
