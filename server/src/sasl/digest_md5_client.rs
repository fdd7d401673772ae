//! The client side of SASL DIGEST-MD5 (RFC 2831) with quality of protection `auth`, as Java's
//! `DigestMD5Client` runs it: the server's challenge gets the digest response (`md5-sess`,
//! UTF-8 when the server offers it), and the server's final `rspauth` is checked, so that each side
//! proves it knows the password. A member authenticating to another one (quorum SASL) uses it;
//! the digest computations are the server side's (`digest_md5`).

use super::digest_md5::{
    DigestError, DigestService, new_nonce, parse_directives, request_digest, response_auth,
    session_key,
};

/// The nonce count of the first (and only) response.
const NONCE_COUNT: &str = "00000001";
/// The receive buffer size announced to the server (Java's default).
const MAX_BUFFER: u32 = 65536;

/// What the client remembers between its response and the server's final token.
struct Sent {
    a1: Vec<u8>,
    nonce: String,
    cnonce: String,
}

/// One connection's DIGEST-MD5 exchange as the client, with one user's credentials.
pub struct DigestMd5Client {
    service: DigestService,
    username: String,
    password: String,
    sent: Option<Sent>,
}

impl std::fmt::Debug for DigestMd5Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5Client")
            .field("service", &self.service)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn format_error(message: impl Into<String>) -> DigestError {
    DigestError::Format(message.into())
}

/// `value` as a quoted string, with `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl DigestMd5Client {
    /// A client authenticating `username` with `password` to `service`.
    pub fn new(service: DigestService, username: &str, password: &str) -> DigestMd5Client {
        DigestMd5Client {
            service,
            username: username.to_string(),
            password: password.to_string(),
            sent: None,
        }
    }

    /// The digest response to the server's `challenge`.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, DigestError> {
        if self.sent.is_some() {
            return Err(format_error("a second challenge"));
        }
        let directives = parse_directives(challenge)?;
        let get = |name: &str| {
            directives
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let nonce = get("nonce").ok_or_else(|| format_error("challenge without a nonce"))?;
        match get("algorithm") {
            Some("md5-sess") => {}
            other => {
                return Err(format_error(format!(
                    "challenge with algorithm {other:?}; expected md5-sess"
                )));
            }
        }
        if let Some(qop) = get("qop")
            && !qop.split(',').any(|q| q.trim() == "auth")
        {
            return Err(format_error(format!(
                "the server offers protection {qop}, not auth"
            )));
        }
        let utf8 = get("charset").is_some_and(|c| c.eq_ignore_ascii_case("utf-8"));
        let realm = get("realm").unwrap_or(self.service.server_name);
        let cnonce = new_nonce();
        let digest_uri = self.service.digest_uri();
        let a1 = session_key(
            &self.username,
            realm,
            &self.password,
            nonce,
            &cnonce,
            None,
            utf8,
        );
        let response = request_digest(
            &a1,
            nonce,
            NONCE_COUNT,
            &cnonce,
            "auth",
            &format!("AUTHENTICATE:{digest_uri}"),
        );
        let charset = if utf8 { "charset=utf-8," } else { "" };
        let token = format!(
            "{charset}username={},realm={},nonce={},nc={NONCE_COUNT},cnonce={},digest-uri={},\
             maxbuf={MAX_BUFFER},response={response},qop=auth",
            quoted(&self.username),
            quoted(realm),
            quoted(nonce),
            quoted(&cnonce),
            quoted(&digest_uri),
        );
        self.sent = Some(Sent {
            a1,
            nonce: nonce.to_string(),
            cnonce,
        });
        Ok(token.into_bytes())
    }

    /// Checks the server's final token (`rspauth=...`): a server that does not know the
    /// password cannot compute it.
    pub fn verify_server(&self, token: &[u8]) -> Result<(), DigestError> {
        let sent = self
            .sent
            .as_ref()
            .ok_or_else(|| format_error("a final token before the challenge"))?;
        let directives = parse_directives(token)?;
        let rspauth = directives
            .iter()
            .find(|(k, _)| k == "rspauth")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format_error("final token without rspauth"))?;
        let expected = response_auth(
            &sent.a1,
            &sent.nonce,
            NONCE_COUNT,
            &sent.cnonce,
            "auth",
            &self.service.digest_uri(),
        );
        match rspauth == expected {
            true => Ok(()),
            false => Err(DigestError::ServerNotAuthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::digest_md5::{CLIENT_SESSIONS, DigestMd5Server, QUORUM, Step};

    fn users(name: &str) -> Option<String> {
        (name == "test").then(|| "secret".to_string())
    }

    /// Runs a whole exchange between a client with `password` and a server knowing `users`.
    fn exchange(service: DigestService, password: &str) -> Result<String, DigestError> {
        let mut server = DigestMd5Server::for_service(service);
        let mut client = DigestMd5Client::new(service, "test", password);
        let Step::Challenge(challenge) = server.step(b"", &users)? else {
            panic!("no challenge");
        };
        let response = client.respond(&challenge)?;
        let Step::Done(rspauth, who) = server.step(&response, &users)? else {
            panic!("not done");
        };
        client.verify_server(&rspauth)?;
        Ok(who.username)
    }

    #[test]
    fn right_password_authenticates_both_ways_for_each_service() {
        for service in [QUORUM, CLIENT_SESSIONS] {
            assert_eq!(exchange(service, "secret").as_deref(), Ok("test"));
        }
    }

    #[test]
    fn wrong_password_is_refused_by_the_server() {
        assert_eq!(
            exchange(QUORUM, "wrong"),
            Err(DigestError::BadCredentials("test".into()))
        );
    }

    #[test]
    fn a_client_of_another_service_is_refused() {
        let mut server = DigestMd5Server::for_service(QUORUM);
        let mut client = DigestMd5Client::new(CLIENT_SESSIONS, "test", "secret");
        let Ok(Step::Challenge(challenge)) = server.step(b"", &users) else {
            panic!("no challenge");
        };
        let response = client.respond(&challenge).unwrap();
        let err = server.step(&response, &users).unwrap_err();
        assert!(err.to_string().contains("mismatched URI"), "{err}");
    }

    #[test]
    fn a_server_without_the_password_is_not_believed() {
        let mut client = DigestMd5Client::new(QUORUM, "test", "secret");
        let mut impostor = DigestMd5Server::for_service(QUORUM);
        let wrong = |_: &str| Some("guess".to_string());
        let Ok(Step::Challenge(challenge)) = impostor.step(b"", &wrong) else {
            panic!("no challenge");
        };
        let response = client.respond(&challenge).unwrap();
        // The impostor cannot verify the response; an rspauth made with its guess is refused.
        assert!(impostor.step(&response, &wrong).is_err());
        let sent = client.sent.as_ref().unwrap();
        let guessed_a1 = session_key(
            "test",
            QUORUM.server_name,
            "guess",
            &sent.nonce,
            &sent.cnonce,
            None,
            true,
        );
        let forged = response_auth(
            &guessed_a1,
            &sent.nonce,
            NONCE_COUNT,
            &sent.cnonce,
            "auth",
            &QUORUM.digest_uri(),
        );
        assert_eq!(
            client.verify_server(format!("rspauth={forged}").as_bytes()),
            Err(DigestError::ServerNotAuthenticated)
        );
    }

    #[test]
    fn challenges_it_cannot_answer_are_errors() {
        for challenge in [
            &b"realm=\"r\",algorithm=md5-sess"[..],
            b"nonce=\"n\",algorithm=md5",
            b"nonce=\"n\",algorithm=md5-sess,qop=\"auth-conf\"",
            b"garbage",
        ] {
            let mut client = DigestMd5Client::new(QUORUM, "test", "secret");
            assert!(
                matches!(client.respond(challenge), Err(DigestError::Format(_))),
                "{}",
                String::from_utf8_lossy(challenge)
            );
        }
        let client = DigestMd5Client::new(QUORUM, "test", "secret");
        assert!(client.verify_server(b"rspauth=00").is_err());
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn quotes_escape_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        let got = parse_directives(format!("u={}", quoted(r#"a"b\c"#)).as_bytes()).unwrap();
        assert_eq!(got[0].1, r#"a"b\c"#);
    }
}
