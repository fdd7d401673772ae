//! The client side of SASL GSSAPI (Kerberos V5, RFC 4752), as Java's GSSAPI client runs it with no
//! authorization id: a security context with mutual authentication is established with the
//! service principal, so the server proves it holds the service's keys; then the server's wrapped
//! security-layer offer is answered, wrapped, with "no security layer". A member authenticating
//! to another one (quorum SASL) uses it; the server side is `gssapi`.

use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::Cred;
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL};

use super::gssapi::{GssapiError, NO_SECURITY_LAYER};

/// One connection's GSSAPI exchange as the client.
pub struct GssapiClient {
    ctx: ClientCtx,
    answered: bool,
}

impl std::fmt::Debug for GssapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GssapiClient")
            .field("answered", &self.answered)
            .finish_non_exhaustive()
    }
}

impl GssapiClient {
    /// A client with the initiator credentials `cred`, authenticating to the service principal
    /// `service` (`service/host@REALM`).
    pub fn new(cred: Cred, service: &str) -> Result<GssapiClient, GssapiError> {
        let target = Name::new(service.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))?;
        let ctx = ClientCtx::new(
            Some(cred),
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(&GSS_MECH_KRB5),
        );
        Ok(GssapiClient {
            ctx,
            answered: false,
        })
    }

    /// The first token (the Kerberos AP-REQ, with a service ticket fetched if needed).
    pub fn initial(&mut self) -> Result<Vec<u8>, GssapiError> {
        let token = self.ctx.step(None, None)?;
        Ok(token.map(|t| t.to_vec()).unwrap_or_default())
    }

    /// The answer to the server's next token: a context token while the context is being
    /// established (empty once it is), then the choice of "no security layer".
    pub fn respond(&mut self, token: &[u8]) -> Result<Vec<u8>, GssapiError> {
        if !self.ctx.is_complete() {
            let next = self.ctx.step(Some(token), None)?;
            return Ok(next.map(|t| t.to_vec()).unwrap_or_default());
        }
        if self.answered {
            return Err(GssapiError::AlreadyComplete);
        }
        let offer = self.ctx.unwrap(token)?;
        if offer.len() < 4 {
            return Err(GssapiError::Layer(
                "the server's offer is shorter than 4 bytes",
            ));
        }
        if offer[0] & NO_SECURITY_LAYER == 0 {
            return Err(GssapiError::Layer(
                "the server does not offer to go without a security layer",
            ));
        }
        // The layer, then a maximum buffer size of 0: no layer follows.
        let choice = [NO_SECURITY_LAYER, 0, 0, 0];
        let wrapped = self.ctx.wrap(false, &choice)?;
        self.answered = true;
        Ok(wrapped.to_vec())
    }

    /// Whether the exchange is complete on this side: the server was authenticated and the
    /// layer chosen.
    pub fn is_complete(&self) -> bool {
        self.answered
    }
}
