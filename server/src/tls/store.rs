//! Key and trust stores as Apache reads them: PEM, PKCS12 and JKS files, the type from `*.type` or
//! else from the file name (`.pem`, `.p12`/`.pfx`, `.jks`).

use std::path::Path;

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::TlsError;
use super::jks;
use super::settings::StoreSettings;

/// The format of a store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    /// PEM text: certificates, and for a key store one unencrypted private key.
    Pem,
    /// PKCS#12 (`keytool`'s default since Java 9, `openssl pkcs12 -export`).
    Pkcs12,
    /// Java's own JKS.
    Jks,
}

impl StoreType {
    /// The type named by `*.type` (case-insensitive), else the one the file name says.
    pub fn of(named: Option<&str>, location: &Path) -> Result<StoreType, TlsError> {
        let word = match named {
            Some(name) => name.to_ascii_uppercase(),
            None => location
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| e.to_ascii_uppercase())
                .unwrap_or_default(),
        };
        match word.as_str() {
            "PEM" => Ok(StoreType::Pem),
            "PKCS12" | "P12" | "PFX" => Ok(StoreType::Pkcs12),
            "JKS" => Ok(StoreType::Jks),
            _ => Err(TlsError::Setting(format!(
                "cannot tell the type of store {} (set its .type to PEM, PKCS12 or JKS)",
                location.display()
            ))),
        }
    }
}

/// A certificate chain (leaf first) and its private key.
pub struct Identity {
    /// The chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// The key.
    pub key: PrivateKeyDer<'static>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.into(),
        source,
    })
}

fn store_error(settings: &StoreSettings, what: impl std::fmt::Display) -> TlsError {
    TlsError::Store(format!("{}: {what}", settings.location.display()))
}

fn certificates(ders: impl IntoIterator<Item = Vec<u8>>) -> Vec<CertificateDer<'static>> {
    ders.into_iter().map(CertificateDer::from).collect()
}

/// Loads the key store: the first private key entry and its chain.
pub fn load_identity(settings: &StoreSettings) -> Result<Identity, TlsError> {
    let data = read(&settings.location)?;
    let (chain, key) = match settings.store_type {
        StoreType::Pem => {
            let chain = CertificateDer::pem_slice_iter(&data)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| store_error(settings, e))?;
            let key = PrivateKeyDer::from_pem_slice(&data).map_err(|e| {
                store_error(settings, format!("no usable unencrypted private key ({e})"))
            })?;
            (chain, key)
        }
        StoreType::Pkcs12 => {
            let store = pkcs12(settings, &data)?;
            let (_, entry) = store
                .private_key_chain()
                .ok_or_else(|| store_error(settings, "no private key entry"))?;
            let chain = certificates(entry.certs().iter().map(|c| c.as_der().to_vec()));
            let key = PrivatePkcs8KeyDer::from(entry.key().as_der().to_vec()).into();
            (chain, key)
        }
        StoreType::Jks => {
            let store =
                jks::parse(&data, &settings.password).map_err(|e| store_error(settings, e))?;
            let (key, chain) = store
                .keys
                .into_iter()
                .next()
                .ok_or_else(|| store_error(settings, "no private key entry"))?;
            (certificates(chain), PrivatePkcs8KeyDer::from(key).into())
        }
    };
    if chain.is_empty() {
        return Err(store_error(settings, "no certificate for the private key"));
    }
    Ok(Identity { chain, key })
}

/// Loads the trust store: every certificate in it.
pub fn load_trust(settings: &StoreSettings) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = read(&settings.location)?;
    let certs = match settings.store_type {
        StoreType::Pem => CertificateDer::pem_slice_iter(&data)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| store_error(settings, e))?,
        StoreType::Pkcs12 => {
            let store = pkcs12(settings, &data)?;
            let mut ders = Vec::new();
            for (_, entry) in store.entries() {
                match entry {
                    KeyStoreEntry::Certificate(cert) => ders.push(cert.as_der().to_vec()),
                    KeyStoreEntry::PrivateKeyChain(chain) => {
                        ders.extend(chain.certs().iter().map(|c| c.as_der().to_vec()))
                    }
                    KeyStoreEntry::Secret(_) => {}
                }
            }
            certificates(ders)
        }
        StoreType::Jks => {
            let store =
                jks::parse(&data, &settings.password).map_err(|e| store_error(settings, e))?;
            let chains = store.keys.into_iter().flat_map(|(_, chain)| chain);
            certificates(store.trusted.into_iter().chain(chains))
        }
    };
    if certs.is_empty() {
        return Err(store_error(settings, "no certificate"));
    }
    Ok(certs)
}

fn pkcs12(settings: &StoreSettings, data: &[u8]) -> Result<KeyStore, TlsError> {
    KeyStore::from_pkcs12(data, &settings.password, Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| store_error(settings, format!("PKCS12: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_from_name_or_setting() {
        let p = Path::new("/x/store.jks");
        assert_eq!(StoreType::of(None, p).unwrap(), StoreType::Jks);
        assert_eq!(StoreType::of(Some("pkcs12"), p).unwrap(), StoreType::Pkcs12);
        assert_eq!(
            StoreType::of(None, Path::new("a.pem")).unwrap(),
            StoreType::Pem
        );
        assert!(StoreType::of(None, Path::new("a.bin")).is_err());
        assert!(StoreType::of(Some("BCFKS"), p).is_err());
    }
}
