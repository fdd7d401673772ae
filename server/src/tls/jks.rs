//! A reader for Java's JKS key store format (`keytool -storetype JKS`, and the stores kazoo's test
//! harness writes): trusted certificate entries and private key entries with their chains.
//!
//! Layout (big-endian): magic `FEEDFEED`, version 1 or 2, entry count, entries, then a SHA-1 over
//! the password (UTF-16BE), the words "Mighty Aphrodite" and everything before it. A private key is
//! a PKCS#8 `EncryptedPrivateKeyInfo` under Sun's key protection algorithm
//! (`1.3.6.1.4.1.42.2.17.1.1`): a 20-byte salt, the key XORed with a SHA-1 chain over the password,
//! and a SHA-1 check of password and key.

use sha1::{Digest, Sha1};

use super::TlsError;

const MAGIC: u32 = 0xFEED_FEED;
const PRIVATE_KEY_TAG: u32 = 1;
const TRUSTED_CERT_TAG: u32 = 2;
const WHITENER: &[u8] = b"Mighty Aphrodite";
/// DER of the OID 1.3.6.1.4.1.42.2.17.1.1 (Sun's JKS key protection).
const KEY_PROTECTOR_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];

/// What a JKS file holds.
#[derive(Debug, Default)]
pub struct JksStore {
    /// Private key entries: the PKCS#8 key (DER) and its chain (DER, leaf first).
    pub keys: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    /// Trusted certificate entries (DER).
    pub trusted: Vec<Vec<u8>>,
}

/// Parses a JKS file, checking its integrity digest and decrypting its keys with `password`.
pub fn parse(data: &[u8], password: &str) -> Result<JksStore, TlsError> {
    let bad = |what: &str| TlsError::Store(format!("JKS: {what}"));
    if data.len() < 20 {
        return Err(bad("file too short"));
    }
    let (body, digest) = data.split_at(data.len() - 20);
    let password: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let mut check = Sha1::new();
    check.update(&password);
    check.update(WHITENER);
    check.update(body);
    if check.finalize().as_slice() != digest {
        return Err(bad(
            "integrity check failed (wrong password or corrupted file)",
        ));
    }
    let mut r = Cursor { data: body, at: 0 };
    if r.u32()? != MAGIC {
        return Err(bad("not a JKS file"));
    }
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(bad("unknown version"));
    }
    let count = r.u32()?;
    let mut store = JksStore::default();
    for _ in 0..count {
        let tag = r.u32()?;
        r.utf()?; // alias
        r.bytes(8)?; // creation time
        match tag {
            PRIVATE_KEY_TAG => {
                let protected = r.block()?;
                let chain_len = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..chain_len {
                    if version == 2 {
                        r.utf()?; // certificate type
                    }
                    chain.push(r.block()?.to_vec());
                }
                store.keys.push((recover_key(protected, &password)?, chain));
            }
            TRUSTED_CERT_TAG => {
                if version == 2 {
                    r.utf()?;
                }
                store.trusted.push(r.block()?.to_vec());
            }
            _ => return Err(bad("unknown entry type")),
        }
    }
    Ok(store)
}

/// Decrypts a key protected by Sun's algorithm: `EncryptedPrivateKeyInfo` → PKCS#8 DER.
fn recover_key(encrypted_info: &[u8], password: &[u8]) -> Result<Vec<u8>, TlsError> {
    let bad = |what: &str| TlsError::Store(format!("JKS key: {what}"));
    let mut outer = Der(encrypted_info);
    let mut info = Der(outer.take(0x30).ok_or_else(|| bad("not a sequence"))?);
    let mut algorithm = Der(info.take(0x30).ok_or_else(|| bad("no algorithm"))?);
    if algorithm.take(0x06) != Some(KEY_PROTECTOR_OID) {
        return Err(bad("unsupported key protection algorithm"));
    }
    let protected = info.take(0x04).ok_or_else(|| bad("no encrypted data"))?;
    if protected.len() < 40 {
        return Err(bad("encrypted data too short"));
    }
    let (salt, rest) = protected.split_at(20);
    let (cipher, check) = rest.split_at(rest.len() - 20);
    let mut key = Vec::with_capacity(cipher.len());
    let mut block = salt.to_vec();
    for chunk in cipher.chunks(20) {
        block = Sha1::new()
            .chain_update(password)
            .chain_update(&block)
            .finalize()
            .to_vec();
        key.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    let expected = Sha1::new()
        .chain_update(password)
        .chain_update(&key)
        .finalize();
    if expected.as_slice() != check {
        return Err(bad("wrong key password"));
    }
    Ok(key)
}

/// Reads big-endian fields of the JKS body.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| TlsError::Store("JKS: truncated file".into()))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, TlsError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A Java `writeUTF` string (length-prefixed, skipped as bytes).
    fn utf(&mut self) -> Result<&'a [u8], TlsError> {
        let b = self.bytes(2)?;
        self.bytes(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    /// A length-prefixed (u32) byte block.
    fn block(&mut self) -> Result<&'a [u8], TlsError> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

/// Just enough DER to take apart an `EncryptedPrivateKeyInfo`.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Takes the next element if its tag is `tag`, returning its content.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&first, rest) = self.0.split_first()?;
        if first != tag {
            return None;
        }
        let (&len0, rest) = rest.split_first()?;
        let (len, rest) = if len0 < 0x80 {
            (usize::from(len0), rest)
        } else {
            let n = usize::from(len0 & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Some(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage_and_wrong_password() {
        assert!(parse(b"short", "x").is_err());
        let mut body = Vec::new();
        body.extend(MAGIC.to_be_bytes());
        body.extend(2u32.to_be_bytes());
        body.extend(0u32.to_be_bytes());
        let pw: Vec<u8> = "pw".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let digest = Sha1::new()
            .chain_update(&pw)
            .chain_update(WHITENER)
            .chain_update(&body)
            .finalize();
        let mut file = body.clone();
        file.extend(digest);
        let store = parse(&file, "pw").unwrap();
        assert!(store.keys.is_empty() && store.trusted.is_empty());
        assert!(parse(&file, "other").is_err());
    }
}
