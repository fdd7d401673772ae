//! The server side of SASL DIGEST-MD5 (RFC 2831) with quality of protection `auth`, as Java's
//! `DigestMD5Server` runs it for ZooKeeper: for client sessions protocol `zookeeper`, server name
//! and realm `zk-sasl-md5`; between members (quorum SASL) protocol `zookeeper-quorum`, server name
//! and realm `zk-quorum-sasl-md5`; UTF-8, `md5-sess`. The first client token is empty and gets the
//! challenge; the second carries the digest response and gets `rspauth=...`; then the exchange is
//! complete. The digest computations and the directive syntax are shared with the client side
//! (`digest_md5_client`).

use md5::{Digest, Md5};
use thiserror::Error;

/// Who a DIGEST-MD5 exchange authenticates to: the protocol and server name of the digest URI
/// (`protocol/server_name`), the server name being the realm too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestService {
    /// The service (protocol) name in the digest URI.
    pub protocol: &'static str,
    /// The server name in the digest URI, and the realm.
    pub server_name: &'static str,
}

impl DigestService {
    /// The `protocol/server_name` digest URI.
    pub(super) fn digest_uri(&self) -> String {
        format!("{}/{}", self.protocol, self.server_name)
    }
}

/// Client sessions: what Apache's server answers on the client port.
pub const CLIENT_SESSIONS: DigestService = DigestService {
    protocol: "zookeeper",
    server_name: "zk-sasl-md5",
};

/// Members authenticating to each other (Apache's `QuorumAuth`).
pub const QUORUM: DigestService = DigestService {
    protocol: "zookeeper-quorum",
    server_name: "zk-quorum-sasl-md5",
};
/// Java refuses digest responses of this many bytes or more.
const MAX_RESPONSE_LEN: usize = 4096;

/// Why the exchange failed (the text goes to the server's log, not to the client).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigestError {
    /// The first token must be empty.
    #[error("DIGEST-MD5 must not have an initial response")]
    InitialResponse,
    /// A token after the exchange completed.
    #[error("SASL authentication already complete")]
    AlreadyComplete,
    /// The digest response is not well formed or contradicts the challenge.
    #[error("DIGEST-MD5: digest response format violation: {0}")]
    Format(String),
    /// The user is unknown or the password does not match.
    #[error("DIGEST-MD5: cannot authenticate user {0:?}: unknown user or wrong password")]
    BadCredentials(String),
    /// The server's `rspauth` does not match: it does not know the client's password.
    #[error("DIGEST-MD5: the server's rspauth does not match; it does not know the password")]
    ServerNotAuthenticated,
}

/// The stage of one connection's exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Waiting for the empty initial token.
    Start,
    /// The challenge with this nonce was sent.
    Challenged { nonce: String },
    /// Authenticated.
    Complete,
    /// Failed; every further token fails.
    Failed,
}

/// Who authenticated: the user name and the authorization id the client asked for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The `username` directive.
    pub username: String,
    /// The `authzid` directive.
    pub authzid: Option<String>,
}

/// What one step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge and wait for the next token.
    Challenge(Vec<u8>),
    /// Send this final token (`rspauth`); the client is authenticated.
    Done(Vec<u8>, Authenticated),
}

/// One connection's DIGEST-MD5 exchange.
#[derive(Debug)]
pub struct DigestMd5Server {
    service: DigestService,
    stage: Stage,
}

impl Default for DigestMd5Server {
    fn default() -> Self {
        DigestMd5Server::new()
    }
}

impl DigestMd5Server {
    /// A new exchange of a client session.
    pub fn new() -> Self {
        DigestMd5Server::for_service(CLIENT_SESSIONS)
    }

    /// A new exchange for `service`.
    pub fn for_service(service: DigestService) -> Self {
        DigestMd5Server {
            service,
            stage: Stage::Start,
        }
    }

    /// Whether the client has authenticated.
    pub fn is_complete(&self) -> bool {
        self.stage == Stage::Complete
    }

    /// Takes the client's next token; `password` looks up a user's password. A failure ends the
    /// exchange.
    pub fn step(
        &mut self,
        token: &[u8],
        password: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Step, DigestError> {
        let result = self.advance(token, password);
        if result.is_err() && self.stage != Stage::Complete {
            self.stage = Stage::Failed;
        }
        result
    }

    fn advance(
        &mut self,
        token: &[u8],
        password: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Step, DigestError> {
        match std::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Start => {
                if !token.is_empty() {
                    return Err(DigestError::InitialResponse);
                }
                let nonce = new_nonce();
                let realm = self.service.server_name;
                let challenge =
                    format!("realm=\"{realm}\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess");
                self.stage = Stage::Challenged { nonce };
                Ok(Step::Challenge(challenge.into_bytes()))
            }
            Stage::Challenged { nonce } => {
                let (rspauth, who) = verify(token, &self.service, &nonce, password)?;
                self.stage = Stage::Complete;
                Ok(Step::Done(format!("rspauth={rspauth}").into_bytes(), who))
            }
            Stage::Complete => {
                self.stage = Stage::Complete;
                Err(DigestError::AlreadyComplete)
            }
            Stage::Failed => Err(DigestError::Format(
                "the exchange has already failed".into(),
            )),
        }
    }
}

/// 30 random bytes in base64, as Java's nonces (40 characters); also a client's `cnonce`.
pub(super) fn new_nonce() -> String {
    use base64::Engine;
    let bytes: [u8; 30] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn format_error(message: impl Into<String>) -> DigestError {
    DigestError::Format(message.into())
}

/// Checks a digest response against the challenge's nonce; the `rspauth` value and who it is.
fn verify(
    token: &[u8],
    service: &DigestService,
    nonce: &str,
    password: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Authenticated), DigestError> {
    if token.len() >= MAX_RESPONSE_LEN {
        return Err(format_error(format!(
            "response of {} bytes; expected fewer than {MAX_RESPONSE_LEN}",
            token.len()
        )));
    }
    let directives = parse_directives(token)?;
    let get = |name: &str| {
        directives
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let required = |name: &str| get(name).ok_or_else(|| format_error(format!("missing {name}")));
    let utf8 = match get("charset") {
        Some(c) if c.eq_ignore_ascii_case("utf-8") => true,
        Some(c) => return Err(format_error(format!("incompatible charset value: {c}"))),
        None => false,
    };
    let username = required("username")?;
    let realm = get("realm").unwrap_or("");
    if !realm.is_empty() && realm != service.server_name {
        return Err(format_error(format!("nonexistent realm: {realm}")));
    }
    if required("nonce")? != nonce {
        return Err(format_error("mismatched nonce"));
    }
    let nc = required("nc")?;
    if u32::from_str_radix(nc, 16) != Ok(1) {
        return Err(format_error(format!("nonce count {nc}; expected 00000001")));
    }
    let cnonce = required("cnonce")?;
    let qop = get("qop").unwrap_or("auth");
    if qop != "auth" {
        return Err(format_error(format!(
            "client selected unsupported protection: {qop}"
        )));
    }
    if let Some(maxbuf) = get("maxbuf")
        && maxbuf.parse::<u32>().map_or(true, |m| m < 16)
    {
        return Err(format_error(format!("invalid maxbuf {maxbuf}")));
    }
    let digest_uri = required("digest-uri")?;
    let expected_uri = service.digest_uri();
    if !digest_uri.eq_ignore_ascii_case(&expected_uri) {
        return Err(format_error(format!(
            "mismatched URI: {digest_uri}; expecting: {expected_uri}"
        )));
    }
    let response = required("response")?;
    let authzid = get("authzid");
    let secret = password(username).ok_or_else(|| DigestError::BadCredentials(username.into()))?;
    let a1 = session_key(username, realm, &secret, nonce, cnonce, authzid, utf8);
    let expected = request_digest(
        &a1,
        nonce,
        nc,
        cnonce,
        qop,
        &format!("AUTHENTICATE:{digest_uri}"),
    );
    if expected != response {
        return Err(DigestError::BadCredentials(username.into()));
    }
    let rspauth = response_auth(&a1, nonce, nc, cnonce, qop, digest_uri);
    Ok((
        rspauth,
        Authenticated {
            username: username.into(),
            authzid: authzid.map(str::to_string),
        },
    ))
}

/// Text in the encoding the client chose: UTF-8 with `charset=utf-8`, else ISO-8859-1 where every
/// character fits (RFC 2831).
fn encode(text: &str, utf8: bool) -> Vec<u8> {
    if !utf8 && text.chars().all(|c| (c as u32) < 0x100) {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `rspauth` value: the server's proof that it knows the password too.
pub(super) fn response_auth(
    a1: &[u8],
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: &str,
    digest_uri: &str,
) -> String {
    request_digest(a1, nonce, nc, cnonce, qop, &format!(":{digest_uri}"))
}

/// `A1` of md5-sess: `H(user:realm:password):nonce:cnonce[:authzid]`.
pub(super) fn session_key(
    username: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    cnonce: &str,
    authzid: Option<&str>,
    utf8: bool,
) -> Vec<u8> {
    let mut inner = Md5::new();
    inner.update(encode(username, utf8));
    inner.update(b":");
    inner.update(encode(realm, utf8));
    inner.update(b":");
    inner.update(encode(password, utf8));
    let mut a1 = inner.finalize().to_vec();
    a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
    if let Some(authzid) = authzid {
        a1.push(b':');
        a1.extend_from_slice(authzid.as_bytes());
    }
    a1
}

/// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))))`.
pub(super) fn request_digest(
    a1: &[u8],
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: &str,
    a2: &str,
) -> String {
    let ha1 = hex(&Md5::digest(a1));
    let ha2 = hex(&Md5::digest(a2.as_bytes()));
    hex(&Md5::digest(
        format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes(),
    ))
}

/// `name=value` pairs (names lower-cased), values bare or quoted with `\` escapes, separated by
/// commas with optional white space; a repeated directive is an error.
pub(super) fn parse_directives(token: &[u8]) -> Result<Vec<(String, String)>, DigestError> {
    let text = match std::str::from_utf8(token) {
        Ok(text) => text.to_string(),
        Err(_) => token.iter().map(|&b| b as char).collect(),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() || c == ',' {
                break;
            }
            name.push(c.to_ascii_lowercase());
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format_error(format!("directive {name:?} without a value")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(format_error("unterminated quoted value")),
                    },
                    Some(c) => value.push(c),
                    None => return Err(format_error("unterminated quoted value")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_some_and(|c| *c != ',') {
            return Err(format_error(format!("expected ',' after directive {name}")));
        }
        if out.iter().any(|(k, _)| *k == name) {
            return Err(format_error(format!("more than one {name} directive")));
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALM: &str = CLIENT_SESSIONS.server_name;

    /// A client's digest response, computed independently of the server's helpers' order.
    fn client_response(user: &str, pw: &str, nonce: &str, uri: &str) -> String {
        let h = |b: &[u8]| Md5::digest(b).to_vec();
        let cnonce = "Ny4bZ3ydYg3XqA";
        let mut a1 = h(format!("{user}:{REALM}:{pw}").as_bytes());
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        let ha1 = hex(&h(&a1));
        let ha2 = hex(&h(format!("AUTHENTICATE:{uri}").as_bytes()));
        let response = hex(&h(
            format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}").as_bytes()
        ));
        format!(
            "charset=utf-8,username=\"{user}\",realm=\"{REALM}\",nonce=\"{nonce}\",nc=00000001,\
             cnonce=\"{cnonce}\",digest-uri=\"{uri}\",maxbuf=65536,response={response},qop=auth"
        )
    }

    fn users(name: &str) -> Option<String> {
        (name == "bob").then(|| "secret".to_string())
    }

    fn challenge_nonce(server: &mut DigestMd5Server) -> String {
        let Ok(Step::Challenge(challenge)) = server.step(b"", &users) else {
            panic!("no challenge");
        };
        let text = String::from_utf8(challenge).unwrap();
        assert!(text.starts_with("realm=\"zk-sasl-md5\",nonce=\""), "{text}");
        assert!(
            text.ends_with("\",charset=utf-8,algorithm=md5-sess"),
            "{text}"
        );
        let nonce = text.split('"').nth(3).unwrap().to_string();
        assert_eq!(nonce.len(), 40);
        nonce
    }

    #[test]
    fn right_password_authenticates_and_proves_the_server() {
        let mut server = DigestMd5Server::new();
        let nonce = challenge_nonce(&mut server);
        let response = client_response("bob", "secret", &nonce, "zookeeper/zk-sasl-md5");
        let Ok(Step::Done(rspauth, who)) = server.step(response.as_bytes(), &users) else {
            panic!("not authenticated");
        };
        assert_eq!(who.username, "bob");
        assert!(server.is_complete());
        assert!(rspauth.starts_with(b"rspauth=") && rspauth.len() == 8 + 32);
        assert_eq!(server.step(b"", &users), Err(DigestError::AlreadyComplete));
    }

    #[test]
    fn known_vector_from_apache() {
        // The rspauth Apache 3.8 sent for this nonce, cnonce and password (captured with a raw client).
        let a1 = session_key(
            "jaasuser",
            REALM,
            "jaas_password",
            "X8C55mv2SmeMXKv8rWtwf2oDfD9l2lOsZozKomOy",
            "c0ffee",
            None,
            true,
        );
        let digest = request_digest(
            &a1,
            "X8C55mv2SmeMXKv8rWtwf2oDfD9l2lOsZozKomOy",
            "00000001",
            "c0ffee",
            "auth",
            ":zookeeper/zk-sasl-md5",
        );
        assert_eq!(digest, "fcf615a7e060f7fe9be07ea0ab83318b");
    }

    #[test]
    fn wrong_password_unknown_user_and_bad_uri_fail() {
        for (user, pw, uri, want) in [
            (
                "bob",
                "nope",
                "zookeeper/zk-sasl-md5",
                "cannot authenticate",
            ),
            (
                "eve",
                "secret",
                "zookeeper/zk-sasl-md5",
                "cannot authenticate",
            ),
            ("bob", "secret", "zookeeper/elsewhere", "mismatched URI"),
        ] {
            let mut server = DigestMd5Server::new();
            let nonce = challenge_nonce(&mut server);
            let response = client_response(user, pw, &nonce, uri);
            let err = server.step(response.as_bytes(), &users).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
            assert!(!server.is_complete());
            assert!(server.step(response.as_bytes(), &users).is_err());
        }
    }

    #[test]
    fn malformed_responses_fail_cleanly() {
        for token in [
            &b"garbage"[..],
            b"username=\"bob",
            b"username=a,username=b",
            b"username=\"bob\" x",
            b"\xff\xfe=\x00",
            &[b'a'; 5000],
        ] {
            let mut server = DigestMd5Server::new();
            challenge_nonce(&mut server);
            assert!(
                matches!(server.step(token, &users), Err(DigestError::Format(_))),
                "{:?}",
                String::from_utf8_lossy(token)
            );
        }
        let mut server = DigestMd5Server::new();
        assert_eq!(server.step(b"x", &users), Err(DigestError::InitialResponse));
    }

    #[test]
    fn directives_allow_spaces_and_escapes() {
        let got = parse_directives(b" a = \"x\\\"y\" ,, B=2 ").unwrap();
        assert_eq!(
            got,
            vec![("a".into(), "x\"y".into()), ("b".into(), "2".into())]
        );
    }
}
