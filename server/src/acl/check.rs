//! Permission checks and ACL fix-up, following Apache's `checkACL` and `fixupACL`.

use zk_proto::{Acl, ErrorCode, Id};

use super::{ip_matches, is_valid_ip};

/// Server-wide ACL settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclPolicy {
    /// `skipACL=yes`: no permission is ever checked.
    pub skip_acl: bool,
}

impl AclPolicy {
    /// Whether a session with identities `auth` may do `perm` (any of its bits) on a node with `acl`:
    /// NoAuth otherwise. An empty ACL allows everything; the super user is allowed everything.
    pub fn check(&self, acl: &[Acl], perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
        if self.skip_acl || acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
            return Ok(());
        }
        let allowed = acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
            let id = &a.id;
            (id.scheme == "world" && id.id == "anyone")
                || auth
                    .iter()
                    .any(|mine| mine.scheme == id.scheme && matches(&id.scheme, &mine.id, &id.id))
        });
        if allowed {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }
}

/// Whether an authenticated identity matches an ACL id of a scheme.
fn matches(scheme: &str, mine: &str, acl_id: &str) -> bool {
    match scheme {
        "digest" | "x509" => mine == acl_id,
        "ip" => ip_matches(mine, acl_id),
        _ => false,
    }
}

/// Whether identities of `scheme` count as authenticated for the `auth` scheme (digest and x509 do, ip
/// does not).
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest" || scheme == "x509"
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

/// Turns the ACL of a create or setACL into the ACL stored: duplicates removed, `auth` entries replaced by
/// the session's authenticated identities; InvalidACL for an empty list, an `auth` entry without any
/// authenticated identity, an unknown scheme or a malformed id.
pub fn fixup_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
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
                    .filter(|i| is_authenticated_scheme(&i.scheme))
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
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(out)
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
            AclPolicy { skip_acl: true }.check(&node, perms::WRITE, &[]),
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
        assert_eq!(fixup_acl(&[], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup_acl(&[acl(31, "auth", "")], std::slice::from_ref(&ip)),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[acl(31, "auth", "")], &[ip, digest.clone()]),
            Ok(vec![Acl {
                perms: 31,
                id: digest
            }])
        );
        assert_eq!(
            fixup_acl(&[acl(31, "world", "someone")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[acl(31, "digest", "nocolon")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[acl(31, "ip", "1.2.3.4/40")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[acl(31, "sasl", "x")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        let dup = acl(1, "world", "anyone");
        assert_eq!(fixup_acl(&[dup.clone(), dup.clone()], &[]), Ok(vec![dup]));
    }
}
