//! Permission checks and ACL fix-up, following Apache's `checkACL` and `fixupACL`.

use zk_proto::{Acl, ErrorCode, Id};

use super::{ip_matches, is_valid_ip};
use crate::config::ServerConfig;
use crate::sasl::is_valid_sasl_id;

/// Server-wide ACL settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclPolicy {
    /// `skipACL=yes`: no permission is ever checked.
    pub skip_acl: bool,
    /// The `sasl` scheme, when `authProvider.N` registers it.
    pub sasl: Option<SaslScheme>,
}

impl AclPolicy {
    /// The policy `config` asks for.
    pub fn from_config(config: &ServerConfig) -> AclPolicy {
        AclPolicy {
            skip_acl: config.skip_acl,
            sasl: config.sasl.acl_scheme.then(|| SaslScheme {
                let_any_user_do_x: config.sasl.let_any_user_do_x.clone(),
            }),
        }
    }

    /// Whether a session with identities `auth` may do `perm` (any of its bits) on a node with `acl`:
    /// NoAuth otherwise. An empty ACL allows everything; the super user is allowed everything.
    pub fn check(&self, acl: &[Acl], perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
        if self.skip_acl || acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
            return Ok(());
        }
        let allowed = acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
            let id = &a.id;
            (id.scheme == "world" && id.id == "anyone")
                || auth.iter().any(|mine| {
                    mine.scheme == id.scheme && self.matches(&id.scheme, &mine.id, &id.id)
                })
        });
        if allowed {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    /// Whether an authenticated identity matches an ACL id of a scheme.
    fn matches(&self, scheme: &str, mine: &str, acl_id: &str) -> bool {
        match scheme {
            "digest" | "x509" => mine == acl_id,
            "ip" => ip_matches(mine, acl_id),
            "sasl" => self.sasl.as_ref().is_some_and(|s| s.matches(mine, acl_id)),
            _ => false,
        }
    }

    /// Whether identities of `scheme` count as authenticated for the `auth` scheme (digest, x509 and
    /// sasl do, ip does not).
    fn is_authenticated_scheme(&self, scheme: &str) -> bool {
        scheme == "digest" || scheme == "x509" || (scheme == "sasl" && self.sasl.is_some())
    }

    /// Turns the ACL of a create or setACL into the ACL stored: duplicates removed, `auth` entries
    /// replaced by the session's authenticated identities; InvalidACL for an empty list, an `auth`
    /// entry without any authenticated identity, an unknown scheme or a malformed id.
    pub fn fixup(&self, acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
        let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
        for a in acl {
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        if unique.is_empty() {
            return Err(ErrorCode::InvalidAcl);
        }
        let mut out = Vec::with_capacity(unique.len());
        for a in unique {
            let id = &a.id;
            match id.scheme.as_str() {
                "world" if id.id == "anyone" => out.push(a.clone()),
                "auth" => {
                    let mine: Vec<&Id> = auth
                        .iter()
                        .filter(|i| self.is_authenticated_scheme(&i.scheme))
                        .collect();
                    if mine.is_empty() {
                        return Err(ErrorCode::InvalidAcl);
                    }
                    out.extend(mine.into_iter().map(|i| Acl {
                        perms: a.perms,
                        id: i.clone(),
                    }));
                }
                "digest" if java_split_len(&id.id) == 2 => out.push(a.clone()),
                "ip" if is_valid_ip(&id.id) => out.push(a.clone()),
                "x509" if crate::tls::x500_name_is_valid(&id.id) => out.push(a.clone()),
                "sasl" if self.sasl.is_some() && is_valid_sasl_id(&id.id) => out.push(a.clone()),
                _ => return Err(ErrorCode::InvalidAcl),
            }
        }
        Ok(out)
    }
}

/// The `sasl` scheme's matching (Apache's `SASLAuthenticationProvider`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslScheme {
    /// `zookeeper.letAnySaslUserDoX`: an ACL id every SASL identity matches.
    pub let_any_user_do_x: Option<String>,
}

impl SaslScheme {
    /// Whether the SASL identity `mine` matches the ACL id `acl_id`.
    fn matches(&self, mine: &str, acl_id: &str) -> bool {
        mine == "super" || mine == acl_id || self.let_any_user_do_x.as_deref() == Some(acl_id)
    }
}

/// Number of parts Java's `String.split(":")` yields (trailing empty parts dropped), as Apache's digest
/// `isValid` counts them.
fn java_split_len(id: &str) -> usize {
    let mut parts: Vec<&str> = id.split(':').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.len()
}

#[cfg(test)]
mod tests {
    use zk_proto::perms;

    use super::*;

    fn acl(p: i32, s: &str, i: &str) -> Acl {
        Acl {
            perms: p,
            id: Id::new(s, i),
        }
    }

    #[test]
    fn world_and_digest_checks() {
        let policy = AclPolicy::default();
        let node = [
            acl(perms::READ, "world", "anyone"),
            acl(perms::ALL, "digest", "u:h"),
        ];
        assert_eq!(policy.check(&node, perms::READ, &[]), Ok(()));
        assert_eq!(
            policy.check(&node, perms::WRITE, &[]),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            policy.check(&node, perms::WRITE, &[Id::new("digest", "u:h")]),
            Ok(())
        );
        assert_eq!(
            policy.check(&node, perms::WRITE, &[Id::new("digest", "u:x")]),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            policy.check(&node, perms::WRITE, &[Id::new("super", "")]),
            Ok(())
        );
        assert_eq!(
            AclPolicy {
                skip_acl: true,
                ..Default::default()
            }
            .check(&node, perms::WRITE, &[]),
            Ok(())
        );
        assert_eq!(policy.check(&[], perms::WRITE, &[]), Ok(()));
        assert_eq!(policy.check(&node, perms::READ | perms::ADMIN, &[]), Ok(()));
    }

    #[test]
    fn ip_checks_use_masks() {
        let node = [acl(perms::ALL, "ip", "127.0.0.0/8")];
        assert_eq!(
            AclPolicy::default().check(&node, perms::READ, &[Id::new("ip", "127.0.0.1")]),
            Ok(())
        );
        assert_eq!(
            AclPolicy::default().check(&node, perms::READ, &[Id::new("ip", "10.0.0.1")]),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn fixup_follows_apache() {
        let digest = Id::new("digest", "u:h");
        let ip = Id::new("ip", "127.0.0.1");
        assert_eq!(
            AclPolicy::default().fixup(&[], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "auth", "")], std::slice::from_ref(&ip)),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "auth", "")], &[ip, digest.clone()]),
            Ok(vec![Acl {
                perms: 31,
                id: digest
            }])
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "world", "someone")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "digest", "nocolon")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "ip", "1.2.3.4/40")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "sasl", "x")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        let dup = acl(1, "world", "anyone");
        assert_eq!(
            AclPolicy::default().fixup(&[dup.clone(), dup.clone()], &[]),
            Ok(vec![dup])
        );
    }

    #[test]
    fn sasl_scheme_only_when_registered() {
        let node = [acl(perms::ALL, "sasl", "bob")];
        let sasl = AclPolicy {
            sasl: Some(SaslScheme::default()),
            ..Default::default()
        };
        let bob = [Id::new("sasl", "bob")];
        assert_eq!(sasl.check(&node, perms::READ, &bob), Ok(()));
        assert_eq!(
            sasl.check(&node, perms::READ, &[Id::new("sasl", "eve")]),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            AclPolicy::default().check(&node, perms::READ, &bob),
            Err(ErrorCode::NoAuth)
        );
        let anyone = AclPolicy {
            sasl: Some(SaslScheme {
                let_any_user_do_x: Some("bob".into()),
            }),
            ..Default::default()
        };
        assert_eq!(
            anyone.check(&node, perms::READ, &[Id::new("sasl", "eve")]),
            Ok(())
        );
        assert_eq!(sasl.fixup(&node, &[]), Ok(node.to_vec()));
        assert_eq!(
            sasl.fixup(&[acl(31, "sasl", "a@b@c")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            sasl.fixup(&[acl(31, "auth", "")], &bob),
            Ok(vec![acl(31, "sasl", "bob")])
        );
        assert_eq!(
            AclPolicy::default().fixup(&[acl(31, "auth", "")], &bob),
            Err(ErrorCode::InvalidAcl)
        );
    }
}
