//! Kerberos logins of JAAS sections (`com.sun.security.auth.module.Krb5LoginModule` with its
//! `principal` and `keyTab` options) and the GSS-API credentials acquired with them, through MIT's
//! credential store extension: acceptor credentials for a service (the `Server` and `QuorumServer`
//! sections), initiator credentials for a member authenticating to another (`QuorumLearner`).

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use libgssapi::credential::{Cred, CredUsage};
use libgssapi::error::{Error as GssError, MajorFlags};
use thiserror::Error;

/// The JAAS login module whose options name a keytab and principal.
pub const KRB5_LOGIN_MODULE: &str = "com.sun.security.auth.module.Krb5LoginModule";

/// Why the Kerberos login of a JAAS section cannot be used.
#[derive(Debug, Error)]
pub enum KerberosLoginError {
    /// The section does not name the principal.
    #[error("{KRB5_LOGIN_MODULE} needs principal=\"service/host@REALM\"")]
    NoPrincipal,
    /// A path or name cannot be given to the GSS-API library.
    #[error("{0:?} contains a NUL byte")]
    Nul(String),
    /// The GSS-API library refused the credentials.
    #[error("cannot use the keys of {principal} from keytab {keytab}: {source}")]
    Credentials {
        /// The principal.
        principal: String,
        /// The keytab (or the library's default).
        keytab: String,
        /// The library's error.
        #[source]
        source: GssError,
    },
}

/// The options of a `Krb5LoginModule` line this server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Krb5Options {
    /// `principal`, completed with the default realm when it has none.
    principal: String,
    /// `keyTab` (a `file:` prefix dropped).
    keytab: Option<PathBuf>,
}

impl Krb5Options {
    fn parse(
        options: &[(String, String)],
        default_realm: &str,
    ) -> Result<Krb5Options, KerberosLoginError> {
        let option = |name: &str| {
            options
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        };
        let mut principal = option("principal")
            .ok_or(KerberosLoginError::NoPrincipal)?
            .clone();
        if !principal.contains('@') && !default_realm.is_empty() {
            principal = format!("{principal}@{default_realm}");
        }
        let keytab =
            option("keyTab").map(|k| PathBuf::from(k.strip_prefix("file:").unwrap_or(k.as_str())));
        Ok(Krb5Options { principal, keytab })
    }

    fn keytab_name(&self) -> String {
        self.keytab
            .as_ref()
            .map_or("(default)".into(), |k| k.display().to_string())
    }

    fn refused(&self, source: GssError) -> KerberosLoginError {
        KerberosLoginError::Credentials {
            principal: self.principal.clone(),
            keytab: self.keytab_name(),
            source,
        }
    }
}

/// A service's Kerberos login (the `Krb5LoginModule` line of a server section) and the acceptor
/// credentials acquired with it.
#[derive(Clone)]
pub struct KerberosLogin {
    /// The service principal, `service/host@REALM` (the realm defaults to the default realm).
    pub principal: String,
    /// `keyTab`: the keytab holding the principal's keys (the library's default without one).
    pub keytab: Option<PathBuf>,
    cred: Cred,
}

impl std::fmt::Debug for KerberosLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosLogin")
            .field("principal", &self.principal)
            .field("keytab", &self.keytab)
            .finish()
    }
}

impl KerberosLogin {
    /// Reads the module's options (`principal`, `keyTab`) and acquires the acceptor credentials,
    /// so a keytab that cannot be read stops start-up. `default_realm` completes a principal
    /// without a realm.
    pub fn from_options(
        options: &[(String, String)],
        default_realm: &str,
    ) -> Result<KerberosLogin, KerberosLoginError> {
        let parsed = Krb5Options::parse(options, default_realm)?;
        // Every key of the keytab: which principal a client may use is checked once its context
        // is established.
        let store = match &parsed.keytab {
            Some(keytab) => vec![(c"keytab", path_value(keytab)?)],
            None => Vec::new(),
        };
        let cred = acquire(None, CredUsage::Accept, &store).map_err(|e| parsed.refused(e))?;
        Ok(KerberosLogin {
            principal: parsed.principal,
            keytab: parsed.keytab,
            cred,
        })
    }

    /// The acceptor credentials.
    pub(super) fn cred(&self) -> Cred {
        self.cred.clone()
    }
}

/// Distinguishes the in-memory credential caches of the learner logins of one process.
static NEXT_CACHE: AtomicU64 = AtomicU64::new(1);

/// A member's Kerberos login as a learner (the `Krb5LoginModule` line of the `QuorumLearner`
/// section): its initial tickets come from its keytab into a credential cache of its own, in
/// memory; without a keytab, from the default credential cache (`KRB5CCNAME`).
#[derive(Debug, Clone)]
pub struct KerberosInitiator {
    options: Krb5Options,
    cache: String,
}

impl KerberosInitiator {
    /// Reads the module's options (`principal`, `keyTab`); `default_realm` completes a principal
    /// without a realm. The credentials are acquired for each connection (see
    /// [`KerberosInitiator::credentials`]), so that a keytab fixed or rotated on disk is used
    /// without a restart.
    pub fn from_options(
        options: &[(String, String)],
        default_realm: &str,
    ) -> Result<KerberosInitiator, KerberosLoginError> {
        let options = Krb5Options::parse(options, default_realm)?;
        let cache = format!(
            "MEMORY:zk-quorum-learner-{}",
            NEXT_CACHE.fetch_add(1, Ordering::Relaxed)
        );
        Ok(KerberosInitiator { options, cache })
    }

    /// The learner principal.
    pub fn principal(&self) -> &str {
        &self.options.principal
    }

    /// Initiator credentials of the principal: the tickets of its cache, fetched from the KDC
    /// with the keytab's keys when missing or expired.
    pub fn credentials(&self) -> Result<Cred, KerberosLoginError> {
        let store = match &self.options.keytab {
            Some(keytab) => vec![
                (c"client_keytab", path_value(keytab)?),
                (c"ccache", value(&self.cache)?),
            ],
            None => Vec::new(),
        };
        acquire(Some(&self.options.principal), CredUsage::Initiate, &store)
            .map_err(|e| self.options.refused(e))
    }
}

fn value(text: &str) -> Result<CString, KerberosLoginError> {
    CString::new(text).map_err(|_| KerberosLoginError::Nul(text.to_string()))
}

fn path_value(path: &std::path::Path) -> Result<CString, KerberosLoginError> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| KerberosLoginError::Nul(path.display().to_string()))
}

/// Credentials of `principal` (any the store holds without one) for `usage`, from MIT's
/// credential store `store` (elements such as `keytab`, `client_keytab`, `ccache`).
fn acquire(
    principal: Option<&str>,
    usage: CredUsage,
    store: &[(&std::ffi::CStr, CString)],
) -> Result<Cred, GssError> {
    let usage = match usage {
        CredUsage::Accept => libgssapi_sys::GSS_C_ACCEPT,
        CredUsage::Initiate => libgssapi_sys::GSS_C_INITIATE,
        CredUsage::Both => libgssapi_sys::GSS_C_BOTH,
    } as libgssapi_sys::gss_cred_usage_t;
    let name = principal.map(ImportedName::new).transpose()?;
    let mut elements: Vec<libgssapi_sys::gss_key_value_element_desc> = store
        .iter()
        .map(|(key, value)| libgssapi_sys::gss_key_value_element_desc {
            key: key.as_ptr(),
            value: value.as_ptr(),
        })
        .collect();
    let set = libgssapi_sys::gss_key_value_set_desc {
        count: u32::try_from(elements.len()).expect("a few elements"),
        elements: elements.as_mut_ptr(),
    };
    let mut minor = 0;
    let mut cred: libgssapi_sys::gss_cred_id_t = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `set` points at `elements`, whose keys and
    // values point into C strings that outlive the call; the name is a live imported name or
    // null (any name); the output handle is a local the library fills in, and the null
    // mechanism set and optional outputs are documented defaults.
    let major = unsafe {
        libgssapi_sys::gss_acquire_cred_from(
            &mut minor,
            name.as_ref().map_or(std::ptr::null_mut(), |n| n.0),
            libgssapi_sys::_GSS_C_INDEFINITE,
            std::ptr::null_mut(),
            usage,
            &set,
            &mut cred,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    check(major, minor)?;
    // `Cred` owns the handle from here on and releases it when dropped.
    Ok(Cred::from(cred))
}

fn check(major: u32, minor: u32) -> Result<(), GssError> {
    if major == libgssapi_sys::GSS_S_COMPLETE {
        Ok(())
    } else {
        Err(GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        })
    }
}

/// A Kerberos principal imported as a GSS-API name (the mechanism's default name syntax,
/// `name[/host]@REALM`), released when dropped.
struct ImportedName(libgssapi_sys::gss_name_t);

impl ImportedName {
    fn new(principal: &str) -> Result<ImportedName, GssError> {
        let mut buffer = libgssapi_sys::gss_buffer_desc {
            length: principal.len(),
            value: principal.as_ptr() as *mut std::ffi::c_void,
        };
        let mut minor = 0;
        let mut name: libgssapi_sys::gss_name_t = std::ptr::null_mut();
        // SAFETY: the buffer points at `principal`, which outlives the call and is only read; a
        // null name type is the documented default; the output is a local the library fills in.
        let major = unsafe {
            libgssapi_sys::gss_import_name(&mut minor, &mut buffer, std::ptr::null_mut(), &mut name)
        };
        check(major, minor)?;
        Ok(ImportedName(name))
    }
}

impl Drop for ImportedName {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: the name was imported by the library and is released once, here.
        unsafe {
            libgssapi_sys::gss_release_name(&mut minor, &mut self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_complete_the_realm_and_drop_the_file_prefix() {
        let parsed = Krb5Options::parse(
            &options(&[("principal", "learner/h"), ("keyTab", "file:/k/x.keytab")]),
            "R",
        )
        .unwrap();
        assert_eq!(parsed.principal, "learner/h@R");
        assert_eq!(parsed.keytab, Some(PathBuf::from("/k/x.keytab")));
        let parsed = Krb5Options::parse(&options(&[("principal", "a@OTHER")]), "R").unwrap();
        assert_eq!(
            (parsed.principal.as_str(), parsed.keytab),
            ("a@OTHER", None)
        );
        assert!(matches!(
            Krb5Options::parse(&options(&[("keyTab", "/k")]), "R"),
            Err(KerberosLoginError::NoPrincipal)
        ));
    }

    #[test]
    fn each_learner_login_has_its_own_cache() {
        let line = options(&[("principal", "learner/h@R"), ("keyTab", "/k")]);
        let a = KerberosInitiator::from_options(&line, "").unwrap();
        let b = KerberosInitiator::from_options(&line, "").unwrap();
        assert_ne!(a.cache, b.cache);
        assert_eq!(a.principal(), "learner/h@R");
    }
}
