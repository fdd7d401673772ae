//! SASL GSSAPI (Kerberos V5, RFC 4752) on the server side, through the system's GSS-API library
//! (MIT Kerberos, via `libgssapi`): the client's context tokens are accepted with the service's
//! keys from its keytab, then the server offers, in a wrapped 4-byte message, no security layer
//! and a maximum buffer size, and reads the client's wrapped choice and authorization id. Like
//! Apache ZooKeeper's server, this authenticates only: no integrity or privacy layer follows.

use std::ffi::CString;
use std::path::PathBuf;

use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::error::{Error as GssError, MajorFlags};
use thiserror::Error;

/// The JAAS login module whose options name the service's keytab and principal.
pub const KRB5_LOGIN_MODULE: &str = "com.sun.security.auth.module.Krb5LoginModule";

/// RFC 4752's security-layer bit for "no security layer", the only one offered.
const NO_SECURITY_LAYER: u8 = 1;
/// The largest message the server would accept, offered as Java's GSSAPI server does (65536).
const MAX_BUFFER: [u8; 3] = [0x01, 0x00, 0x00];

/// Why the Kerberos login of the JAAS section cannot be used.
#[derive(Debug, Error)]
pub enum KerberosLoginError {
    /// The section does not name the service principal.
    #[error("{KRB5_LOGIN_MODULE} needs principal=\"service/host@REALM\"")]
    NoPrincipal,
    /// The keytab path cannot be given to the GSS-API library.
    #[error("keyTab {0:?} contains a NUL byte")]
    BadKeytabPath(PathBuf),
    /// The GSS-API library refused the acceptor credentials.
    #[error("cannot use the keys of {principal} from keytab {keytab}: {source}")]
    Credentials {
        /// The service principal.
        principal: String,
        /// The keytab (or the library's default).
        keytab: String,
        /// The library's error.
        #[source]
        source: GssError,
    },
}

/// Why a GSSAPI exchange failed.
#[derive(Debug, Error)]
pub enum GssapiError {
    /// The GSS-API library rejected a token.
    #[error("GSS-API: {0}")]
    Gss(#[from] GssError),
    /// The client's ticket is for another service than the configured principal.
    #[error("the client's ticket is for {got}, not for this server's principal {expected}")]
    WrongService {
        /// The configured principal.
        expected: String,
        /// The principal of the ticket.
        got: String,
    },
    /// The client's security-layer message is malformed or chooses a layer not offered.
    #[error("security layer negotiation: {0}")]
    Layer(&'static str),
    /// A token arrived after the exchange completed.
    #[error("the GSSAPI exchange is already complete")]
    AlreadyComplete,
}

/// The service's Kerberos login (the `Krb5LoginModule` line of the JAAS `Server` section) and
/// the acceptor credentials acquired with it.
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
        let option = |name: &str| {
            options
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut principal = option("principal").ok_or(KerberosLoginError::NoPrincipal)?;
        if !principal.contains('@') && !default_realm.is_empty() {
            principal = format!("{principal}@{default_realm}");
        }
        let keytab = option("keyTab").map(|k| {
            PathBuf::from(
                k.strip_prefix("file:")
                    .map(str::to_string)
                    .unwrap_or(k.clone()),
            )
        });
        let cred = acquire_acceptor(keytab.as_ref()).map_err(|e| match e {
            AcquireError::Path(p) => KerberosLoginError::BadKeytabPath(p),
            AcquireError::Gss(source) => KerberosLoginError::Credentials {
                principal: principal.clone(),
                keytab: keytab
                    .as_ref()
                    .map_or("(default)".into(), |k| k.display().to_string()),
                source,
            },
        })?;
        Ok(KerberosLogin {
            principal,
            keytab,
            cred,
        })
    }
}

enum AcquireError {
    Path(PathBuf),
    Gss(GssError),
}

/// Acceptor credentials for every key of `keytab` (MIT's credential store `keytab` element);
/// which principal a client may use is checked once its context is established.
fn acquire_acceptor(keytab: Option<&PathBuf>) -> Result<Cred, AcquireError> {
    let Some(keytab) = keytab else {
        return Cred::acquire(None, None, CredUsage::Accept, None).map_err(AcquireError::Gss);
    };
    let value = CString::new(keytab.as_os_str().as_encoded_bytes())
        .map_err(|_| AcquireError::Path(keytab.clone()))?;
    let mut element = libgssapi_sys::gss_key_value_element_desc {
        key: c"keytab".as_ptr(),
        value: value.as_ptr(),
    };
    let store = libgssapi_sys::gss_key_value_set_desc {
        count: 1,
        elements: &mut element,
    };
    let mut minor = 0;
    let mut cred: libgssapi_sys::gss_cred_id_t = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `store` and its element point at live locals
    // (the C strings outlive the call), the output handle is a local the library fills in, and
    // the null name, mechanism set and optional outputs are documented defaults.
    let major = unsafe {
        libgssapi_sys::gss_acquire_cred_from(
            &mut minor,
            std::ptr::null_mut(),
            libgssapi_sys::_GSS_C_INDEFINITE,
            std::ptr::null_mut(),
            libgssapi_sys::GSS_C_ACCEPT as libgssapi_sys::gss_cred_usage_t,
            &store,
            &mut cred,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if major == libgssapi_sys::GSS_S_COMPLETE {
        // `Cred` owns the handle from here on and releases it when dropped.
        Ok(Cred::from(cred))
    } else {
        Err(AcquireError::Gss(GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        }))
    }
}

/// Where a connection's exchange stands.
#[derive(Debug, Default)]
enum Stage {
    /// Establishing the security context.
    #[default]
    Context,
    /// Established; the client's (empty) answer to the last context token is awaited.
    Established,
    /// The security-layer offer was sent; the client's choice is awaited.
    Offered,
    /// Authenticated.
    Done,
}

/// What one client token leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum GssapiStep {
    /// The token to send back; more client tokens follow.
    Challenge(Vec<u8>),
    /// Authenticated as `principal` (the client's Kerberos principal), asking for `authzid`.
    Done {
        /// The client principal.
        principal: String,
        /// The authorization id the client asked for, if any.
        authzid: Option<String>,
    },
}

/// One connection's GSSAPI server exchange.
#[derive(Debug, Default)]
pub struct GssapiServer {
    ctx: Option<ServerCtx>,
    stage: Stage,
}

impl GssapiServer {
    /// Takes the client's next token.
    pub fn step(&mut self, login: &KerberosLogin, token: &[u8]) -> Result<GssapiStep, GssapiError> {
        match self.stage {
            Stage::Context => {
                let ctx = self
                    .ctx
                    .get_or_insert_with(|| ServerCtx::new(Some(login.cred.clone())));
                let out = ctx.step(token)?;
                if !ctx.is_complete() {
                    return Ok(GssapiStep::Challenge(
                        out.map(|b| b.to_vec()).unwrap_or_default(),
                    ));
                }
                let got = ctx.target_name()?.to_string();
                if got != login.principal {
                    return Err(GssapiError::WrongService {
                        expected: login.principal.clone(),
                        got,
                    });
                }
                match out.filter(|b| !b.is_empty()) {
                    Some(last) => {
                        self.stage = Stage::Established;
                        Ok(GssapiStep::Challenge(last.to_vec()))
                    }
                    None => self.offer_layers(),
                }
            }
            Stage::Established => self.offer_layers(),
            Stage::Offered => {
                let ctx = self.ctx.as_mut().expect("a context before the offer");
                let choice = ctx.unwrap(token)?;
                if choice.len() < 4 {
                    return Err(GssapiError::Layer(
                        "the client's answer is shorter than 4 bytes",
                    ));
                }
                if choice[0] != NO_SECURITY_LAYER {
                    return Err(GssapiError::Layer(
                        "the client chose a security layer that was not offered",
                    ));
                }
                let authzid = std::str::from_utf8(&choice[4..])
                    .map_err(|_| GssapiError::Layer("the authorization id is not UTF-8"))?;
                let principal = ctx.source_name()?.to_string();
                self.stage = Stage::Done;
                Ok(GssapiStep::Done {
                    principal,
                    authzid: (!authzid.is_empty()).then(|| authzid.to_string()),
                })
            }
            Stage::Done => Err(GssapiError::AlreadyComplete),
        }
    }

    /// The wrapped security-layer offer (RFC 4752 section 3.1).
    fn offer_layers(&mut self) -> Result<GssapiStep, GssapiError> {
        let ctx = self.ctx.as_mut().expect("an established context");
        let mut offer = vec![NO_SECURITY_LAYER];
        offer.extend_from_slice(&MAX_BUFFER);
        let wrapped = ctx.wrap(false, &offer)?;
        self.stage = Stage::Offered;
        Ok(GssapiStep::Challenge(wrapped.to_vec()))
    }
}
