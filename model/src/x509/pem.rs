//! PEM and export of the run's PKI for outside tools (`openssl verify`).

use crate::x509::der::Der;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// RFC 7468 PEM: `-----BEGIN <label>-----`, base64 in 64-column lines, `-----END <label>-----`.
/// Labels used here: `CERTIFICATE`, `X509 CRL`.
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(der.len() * 4 / 3 + der.len() / 48 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut column = 0;
    for chunk in der.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, sextet) in sextets.into_iter().enumerate() {
            // A chunk of k bytes gives k + 1 significant characters.
            let c = if i <= chunk.len() {
                char::from(ALPHABET[sextet as usize])
            } else {
                '='
            };
            out.push(c);
            column += 1;
            if column == 64 {
                out.push('\n');
                column = 0;
            }
        }
    }
    if column != 0 {
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A file stem made of `[A-Za-z0-9._-]` only (anything else becomes `_`),
/// never empty and never starting with a dot, so it cannot climb directories
/// or hide.
pub fn sanitise_file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("_{stem}")
    } else {
        stem
    }
}

/// Write PEM files for outside tools into `dir` (created if missing):
/// `ca.pem`; one `<name>.pem` per user certificate, the name sanitised to
/// `[A-Za-z0-9._-]`; and `crl.pem` for a single CRL or `crl-<n>.pem` (from 1)
/// for several. A name that would clash with a file already written gets
/// `-<k>` appended. Returns the paths written, in that order.
pub fn export_pem(
    dir: &Path,
    ca_root: &Der,
    users: &[(String, Der)],
    crls: &[Der],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let crl_stems: Vec<String> = match crls.len() {
        1 => vec!["crl".to_owned()],
        _ => (1..=crls.len()).map(|n| format!("crl-{n}")).collect(),
    };
    let mut taken: HashSet<String> = crl_stems.iter().cloned().collect();
    taken.insert("ca".to_owned());

    let mut written = Vec::with_capacity(1 + users.len() + crls.len());
    let mut write = |stem: &str, label: &str, der: &Der| -> std::io::Result<()> {
        let path = dir.join(format!("{stem}.pem"));
        std::fs::write(&path, pem(label, der.as_bytes()))?;
        written.push(path);
        Ok(())
    };
    write("ca", "CERTIFICATE", ca_root)?;
    for (name, der) in users {
        let base = sanitise_file_stem(name);
        let mut stem = base.clone();
        let mut k = 1u64;
        while taken.contains(&stem) {
            stem = format!("{base}-{k}");
            k += 1;
        }
        taken.insert(stem.clone());
        write(&stem, "CERTIFICATE", der)?;
    }
    for (stem, der) in crl_stems.iter().zip(crls) {
        write(stem, "X509 CRL", der)?;
    }
    Ok(written)
}
