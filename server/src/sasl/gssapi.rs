//! SASL GSSAPI (Kerberos V5, RFC 4752) on the server side, through the system's GSS-API library
//! (MIT Kerberos, via `libgssapi`): the client's context tokens are accepted with the service's
//! keys from its keytab, then the server offers, in a wrapped 4-byte message, no security layer
//! and a maximum buffer size, and reads the client's wrapped choice and authorization id. Like
//! Apache ZooKeeper's server, this authenticates only: no integrity or privacy layer follows.

use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::error::Error as GssError;
use thiserror::Error;

use super::krb5_login::KerberosLogin;

/// RFC 4752's security-layer bit for "no security layer", the only one offered (and taken).
pub(super) const NO_SECURITY_LAYER: u8 = 1;
/// The largest message the server would accept, offered as Java's GSSAPI server does (65536).
const MAX_BUFFER: [u8; 3] = [0x01, 0x00, 0x00];

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
                    .get_or_insert_with(|| ServerCtx::new(Some(login.cred())));
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
