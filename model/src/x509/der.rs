//! DER bytes as parties hold them, and the few encoding rules the checks
//! pin exactly (canonical Ed25519 framing, serial numbers).

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// DER bytes of a certificate or CRL.
///
/// Cheap to clone (shared), and hashable and ordered so that it can live
/// inside model-checker states and messages. `Debug` prints the length and a
/// short fingerprint rather than every byte, to keep traces readable.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Der(pub Arc<[u8]>);

impl Der {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first 8 bytes of the SHA-256 of the bytes, in lower-case hex.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        hex(digest.as_ref().iter().take(8))
    }
}

pub(super) fn hex<'a>(bytes: impl Iterator<Item = &'a u8>) -> String {
    use fmt::Write as _;
    bytes.fold(String::new(), |mut s, b| {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl fmt::Debug for Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Der({} bytes, sha256:{})",
            self.len(),
            self.fingerprint()
        )
    }
}

impl From<Vec<u8>> for Der {
    fn from(bytes: Vec<u8>) -> Self {
        Der(bytes.into())
    }
}

impl From<&[u8]> for Der {
    fn from(bytes: &[u8]) -> Self {
        Der(bytes.into())
    }
}

impl AsRef<[u8]> for Der {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Lets a `HashMap<Der, _>` be queried with a plain `&[u8]` without copying.
/// Consistent with `Hash`/`Eq`: both delegate to the byte slice.
impl Borrow<[u8]> for Der {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// `AlgorithmIdentifier { id-Ed25519 }` (RFC 8410: parameters absent), DER.
pub(super) const ED25519_ALG_ID: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Append a DER definite length (minimal form).
pub(super) fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

/// The one DER encoding of `SEQUENCE { tbs, id-Ed25519, BIT STRING signature }`,
/// the shape of every certificate and CRL our CA signs.
pub(super) fn ed25519_signed_der(tbs: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(tbs.len() + ED25519_ALG_ID.len() + signature.len() + 8);
    body.extend_from_slice(tbs);
    body.extend_from_slice(&ED25519_ALG_ID);
    body.push(0x03); // BIT STRING
    push_der_length(&mut body, signature.len() + 1);
    body.push(0x00); // no unused bits
    body.extend_from_slice(signature);
    let mut out = Vec::with_capacity(body.len() + 6);
    out.push(0x30); // SEQUENCE
    push_der_length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// The value of a serial number's DER INTEGER content octets, if it is a
/// valid RFC 5280 serial that fits a u64: non-empty, minimally encoded,
/// positive, at most 20 octets, not zero, at most 64 bits.
pub fn serial_from_integer_content(content: &[u8]) -> Option<u64> {
    let (&first, rest) = content.split_first()?;
    if content.len() > 20 || first & 0x80 != 0 {
        return None; // too long, or negative
    }
    let magnitude = if first == 0 {
        match rest.first() {
            // A leading zero octet is only allowed before a high bit.
            Some(next) if next & 0x80 != 0 => rest,
            // Zero, or a non-minimal encoding.
            _ => return None,
        }
    } else {
        content
    };
    if magnitude.len() > 8 {
        return None;
    }
    let value = magnitude
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (value != 0).then_some(value)
}
