//! Keys and signatures: RSA key pairs as PKCS#8 / SPKI PEM, and detached RSA-PSS signatures with
//! SHA-256 and a 32-byte salt, the form `openssl dgst -sha256 -sigopt rsa_padding_mode:pss
//! -sigopt rsa_pss_saltlen:32 -verify PUB.pem -signature M.sig M` checks.
//!
//! The `rsa` crate's private-key operations are not constant-time (RUSTSEC-2023-0071): sign on the
//! operator's workstation. Verification uses only the public key.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::pss::{BlindedSigningKey, Signature, VerifyingKey};
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// Key size when none is asked for.
pub const DEFAULT_BITS: u16 = 3072;
/// Names `keygen` writes in its folder.
pub const PRIVATE_FILE: &str = "private.pem";
pub const PUBLIC_FILE: &str = "public.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} already exists: keygen never overwrites a key (choose another --out folder)")]
    Exists(PathBuf),
    #[error("cannot read {path}: {why}")]
    Unreadable { path: PathBuf, why: String },
    #[error("cannot write {path}: {why}")]
    Unwritable { path: PathBuf, why: String },
    #[error(
        "{path} is readable by other users (mode {mode:04o}): a private key must be 0600 — \
         run `chmod 600 {path}` (and keep it on your workstation, not on a watched host)"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{path} is not a PKCS#8 PEM RSA private key ({why})")]
    NotPrivate { path: PathBuf, why: String },
    #[error(
        "{0} is a public key: signing needs the private key (keygen wrote private.pem, mode 0600, beside \
         it — on your workstation)"
    )]
    PublicWherePrivate(PathBuf),
    #[error(
        "{0} is a private key: verification needs only the public key (keygen wrote public.pem beside it); \
         a watched host should never hold the private key"
    )]
    PrivateWherePublic(PathBuf),
    #[error("{path} is not an SPKI PEM RSA public key ({why})")]
    NotPublic { path: PathBuf, why: String },
    #[error("cannot make a {bits}-bit key: {why}")]
    Generate { bits: usize, why: String },
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A new key pair in `dir` (created 0700 if missing): `private.pem` (PKCS#8, 0600) and `public.pem`
/// (SPKI). Refuses if either file exists. Returns both paths.
pub fn keygen(dir: &Path, bits: usize) -> Result<(PathBuf, PathBuf), KeyError> {
    let (private, public) = (dir.join(PRIVATE_FILE), dir.join(PUBLIC_FILE));
    for path in [&private, &public] {
        if path.symlink_metadata().is_ok() {
            return Err(KeyError::Exists(path.clone()));
        }
    }
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| KeyError::Unwritable { path: dir.to_owned(), why: super::walk::file_reason(&e) })?;
    }
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), bits)
        .map_err(|e| KeyError::Generate { bits, why: e.to_string() })?;
    let private_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Generate { bits, why: e.to_string() })?;
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate { bits, why: e.to_string() })?;
    write_new(&private, private_pem.as_bytes(), 0o600)?;
    write_new(&public, public_pem.as_bytes(), 0o644)?;
    Ok((private, public))
}

/// Creates `path` with `mode`, failing if anything is already there.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let unwritable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_owned()),
        _ => KeyError::Unwritable { path: path.to_owned(), why: super::walk::file_reason(&e) },
    };
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(unwritable)?;
    // The umask may have taken bits away, never added them; set the mode exactly anyway.
    file.set_permissions(fs::Permissions::from_mode(mode)).map_err(unwritable)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(unwritable)
}

/// Reads a private key, refusing one that group or others can read or write (and saying so when
/// it is a public key instead).
pub fn load_private(path: &Path) -> Result<RsaPrivateKey, KeyError> {
    let unreadable =
        |e: std::io::Error| KeyError::Unreadable { path: path.to_owned(), why: super::walk::file_reason(&e) };
    let meta = fs::metadata(path).map_err(unreadable)?;
    let pem = fs::read_to_string(path).map_err(unreadable)?;
    if pem.contains("PUBLIC KEY-----") && !pem.contains("PRIVATE KEY-----") {
        return Err(KeyError::PublicWherePrivate(path.to_owned()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed { path: path.to_owned(), mode });
    }
    RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::NotPrivate { path: path.to_owned(), why: e.to_string() })
}

/// Reads a public key; a private key given in its place is refused, never used.
pub fn load_public(path: &Path) -> Result<RsaPublicKey, KeyError> {
    let bytes = fs::read(path)
        .map_err(|e| KeyError::Unreadable { path: path.to_owned(), why: super::walk::file_reason(&e) })?;
    parse_public(path, &bytes)
}

/// A public key from the bytes of the PEM file at `path`; a private key is refused, never used.
pub fn parse_public(path: &Path, bytes: &[u8]) -> Result<RsaPublicKey, KeyError> {
    let pem = std::str::from_utf8(bytes)
        .map_err(|_| KeyError::NotPublic { path: path.to_owned(), why: "not PEM text".into() })?;
    if pem.contains("PRIVATE KEY-----") {
        return Err(KeyError::PrivateWherePublic(path.to_owned()));
    }
    RsaPublicKey::from_public_key_pem(pem)
        .map_err(|e| KeyError::NotPublic { path: path.to_owned(), why: e.to_string() })
}

/// `SHA256:` and the hex SHA-256 of the key's DER SubjectPublicKeyInfo — the same as
/// `openssl pkey -pubin -in public.pem -outform DER | sha256sum`.
pub fn fingerprint(key: &RsaPublicKey) -> String {
    let der = key.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
    format!("SHA256:{}", hex::encode(Sha256::digest(der)))
}

/// A fingerprint as written by hand (`sha256:AB…`, spaces around) in the form `fingerprint` gives,
/// or `None` when it is not one.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let text = text.trim();
    let hex = text.get(..7).filter(|p| p.eq_ignore_ascii_case("SHA256:")).map(|_| &text[7..])?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("SHA256:{}", hex.to_ascii_lowercase()))
}

/// The public key's PEM text, for writing beside a manifest.
pub fn public_pem(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// A detached RSA-PSS (SHA-256, salt 32) signature of `message`, blinded.
pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> Result<Vec<u8>, KeyError> {
    let signer = BlindedSigningKey::<Sha256>::new(key.clone());
    let signature =
        signer.try_sign_with_rng(&mut rand::thread_rng(), message).map_err(|e| KeyError::Sign(e.to_string()))?;
    Ok(signature.to_vec())
}

/// Why a signature does not vouch for a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFailure {
    #[error(
        "missing: {}; nothing can be checked without all three (manifest, signature, public key): put \
         back the copies from the workstation that signed them",
        .0.join(", ")
    )]
    Missing(Vec<String>),
    #[error("the public key cannot be used: {0}")]
    UnusableKey(String),
    #[error(
        "no key is pinned for this target (it was registered before rampart pinned keys, or by a config \
         entry without key_fingerprint), and a key lying beside the manifest proves nothing; the public key \
         there is {found}: if that is your key, pin it with key_fingerprint = \"{found}\" in the target's \
         [[integrity]] entry, or re-sign with `rampart integrity accept {target} --new-key PRIVATE.pem \
         --reason …`"
    )]
    NotPinned { target: String, found: String },
    #[error(
        "the public key beside the manifest is {found}, not the key pinned for this target ({pinned}): the \
         tree may have been re-signed by someone else; if you changed the key yourself, `rampart integrity \
         accept {target} --new-key PRIVATE.pem --reason …` pins the new one"
    )]
    UnpinnedKey { target: String, found: String, pinned: String },
    #[error(
        "the signature is {got} bytes where a {bits}-bit key's is {want}: it is truncated, padded, or from \
         another key"
    )]
    WrongLength { got: usize, want: usize, bits: usize },
    #[error(
        "the manifest is not signed by the target's key: it says it was signed by {claimed}, the key \
         pinned for this target is {expected}"
    )]
    OtherKey { claimed: String, expected: String },
    #[error("the manifest does not match its signature: it was changed after signing, or signed by another key")]
    Mismatch,
    #[error("the manifest is signed but unreadable ({0})")]
    Malformed(String),
}

/// Checks a detached signature over the exact bytes of `message`.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureFailure> {
    let want = key.size();
    if signature.len() != want {
        return Err(SignatureFailure::WrongLength { got: signature.len(), want, bits: want * 8 });
    }
    let signature = Signature::try_from(signature).map_err(|_| SignatureFailure::Mismatch)?;
    VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature).map_err(|_| SignatureFailure::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let public = key.to_public_key();
        let sig = sign(&key, b"manifest").unwrap();
        assert_eq!(sig.len(), 128);
        assert_eq!(verify(&public, b"manifest", &sig), Ok(()));
        assert_eq!(verify(&public, b"manifesT", &sig), Err(SignatureFailure::Mismatch));
        assert!(matches!(verify(&public, b"manifest", &sig[..100]), Err(SignatureFailure::WrongLength { .. })));
        let other = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        assert_eq!(verify(&other.to_public_key(), b"manifest", &sig), Err(SignatureFailure::Mismatch));
    }
}
