//! One connection's SASL packets (op 102), answered as Apache's `ZooKeeperServer.processSasl`:
//! each token gets the mechanism's next token (DIGEST-MD5 or GSSAPI, whichever the JAAS section
//! configures) with error 0 and zxid 0; a completed login adds the
//! `sasl` identity (and `super` for a super user); a failed one gets AuthFailed (or
//! SessionClosedRequireSaslAuth when SASL is enforced) with an empty token, and the connection
//! closes unless `zookeeper.allowSaslFailedClients` keeps it. Without a configured login, every
//! token gets an empty answer.

use zk_proto::{ErrorCode, Id, Record, SaslToken};

use super::digest_md5::{DigestMd5Server, Step};
use super::gssapi::{GssapiServer, GssapiStep};
use super::{SaslConfig, SaslLogin};

/// A connection's SASL state.
#[derive(Debug, Default)]
pub struct SaslExchange {
    digest: DigestMd5Server,
    gssapi: GssapiServer,
}

/// One mechanism step, whichever the mechanism.
enum Outcome {
    /// The token to send back.
    Continue(Vec<u8>),
    /// Authenticated as `username` asking for `authzid`; `last` is the final token, if any.
    Done {
        last: Option<Vec<u8>>,
        username: String,
        authzid: Option<String>,
    },
}

/// How to answer one SASL packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslReply {
    /// The reply header's error code.
    pub err: i32,
    /// The reply body (a `SetSASLResponse`).
    pub body: Vec<u8>,
    /// Identities the connection gains.
    pub ids: Vec<Id>,
    /// Close the connection after the reply.
    pub close: bool,
    /// What went wrong, for the log.
    pub failure: Option<String>,
}

impl SaslExchange {
    /// Answers the body of one SASL request; `Err` for a body that does not decode (the
    /// connection is closed without a reply, as Apache's).
    pub fn answer(
        &mut self,
        config: &SaslConfig,
        body: &[u8],
    ) -> Result<SaslReply, zk_proto::DecodeError> {
        let token = SaslToken::from_bytes(body)?.token.unwrap_or_default();
        let outcome = match &config.login {
            None => {
                return Ok(reply(
                    0,
                    None,
                    Vec::new(),
                    false,
                    Some("SASL is not configured".into()),
                ));
            }
            Some(SaslLogin::Digest(users)) => {
                let password = |user: &str| users.get(user).cloned();
                self.digest
                    .step(&token, &password)
                    .map(|step| match step {
                        Step::Challenge(challenge) => Outcome::Continue(challenge),
                        Step::Done(rspauth, who) => Outcome::Done {
                            last: Some(rspauth),
                            username: who.username,
                            authzid: who.authzid,
                        },
                    })
                    .map_err(|e| e.to_string())
            }
            Some(SaslLogin::Kerberos(login)) => self
                .gssapi
                .step(login, &token)
                .map(|step| match step {
                    GssapiStep::Challenge(token) => Outcome::Continue(token),
                    GssapiStep::Done { principal, authzid } => Outcome::Done {
                        last: None,
                        username: principal,
                        authzid,
                    },
                })
                .map_err(|e| e.to_string()),
        };
        Ok(match outcome {
            Ok(Outcome::Continue(challenge)) => reply(0, Some(challenge), Vec::new(), false, None),
            Ok(Outcome::Done {
                last,
                username,
                authzid,
            }) => {
                let id = config
                    .name_rules
                    .authorized_id(&username, authzid.as_deref());
                let mut ids = vec![Id::new("sasl", id.clone())];
                if config.is_super_user(&id) {
                    ids.push(crate::acl::super_id());
                }
                reply(0, last, ids, false, None)
            }
            Err(e) => {
                let required = config.enforcement.requires_sasl();
                if config.allow_failed_clients && !required {
                    reply(0, None, Vec::new(), false, Some(e))
                } else {
                    let code = if required {
                        ErrorCode::SessionClosedRequireSaslAuth
                    } else {
                        ErrorCode::AuthFailed
                    };
                    reply(code.code(), None, Vec::new(), true, Some(e))
                }
            }
        })
    }
}

fn reply(
    err: i32,
    token: Option<Vec<u8>>,
    ids: Vec<Id>,
    close: bool,
    failure: Option<String>,
) -> SaslReply {
    SaslReply {
        err,
        body: SaslToken { token }.to_bytes(),
        ids,
        close,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn config(users: &[(&str, &str)]) -> SaslConfig {
        SaslConfig {
            login: Some(SaslLogin::Digest(Arc::new(
                users
                    .iter()
                    .map(|(u, p)| (u.to_string(), p.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ))),
            ..SaslConfig::default()
        }
    }

    fn packet(token: &[u8]) -> Vec<u8> {
        SaslToken {
            token: Some(token.to_vec()),
        }
        .to_bytes()
    }

    #[test]
    fn failure_closes_with_auth_failed_and_an_empty_token() {
        let config = config(&[("bob", "pw")]);
        let mut exchange = SaslExchange::default();
        let first = exchange.answer(&config, &packet(b"")).unwrap();
        assert_eq!((first.err, first.close), (0, false));
        let bad = exchange
            .answer(&config, &packet(b"username=\"bob\""))
            .unwrap();
        assert_eq!(bad.err, ErrorCode::AuthFailed.code());
        assert!(bad.close && bad.ids.is_empty());
        assert_eq!(bad.body, (-1i32).to_be_bytes());
    }

    #[test]
    fn enforcement_and_allowed_failures_change_the_answer() {
        let mut enforced = config(&[]);
        enforced.enforcement = crate::sasl::AuthEnforcement {
            enabled: true,
            schemes: vec!["sasl".into()],
        };
        enforced.allow_failed_clients = true;
        let reply = SaslExchange::default()
            .answer(&enforced, &packet(b"x"))
            .unwrap();
        assert_eq!(reply.err, ErrorCode::SessionClosedRequireSaslAuth.code());
        let mut lenient = config(&[]);
        lenient.allow_failed_clients = true;
        let reply = SaslExchange::default()
            .answer(&lenient, &packet(b"x"))
            .unwrap();
        assert_eq!((reply.err, reply.close), (0, false));
    }

    #[test]
    fn without_a_login_the_answer_is_empty_and_truncated_bodies_are_errors() {
        let reply = SaslExchange::default()
            .answer(&SaslConfig::default(), &packet(b""))
            .unwrap();
        assert_eq!((reply.err, reply.close), (0, false));
        assert_eq!(reply.body, (-1i32).to_be_bytes());
        assert!(
            SaslExchange::default()
                .answer(&config(&[]), &[0, 0, 0, 9, b'a'])
                .is_err()
        );
    }
}
