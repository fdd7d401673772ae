//! Node kinds and their encoding in `ephemeralOwner`, as Apache's `EphemeralType` with
//! `extendedTypesEnabled`: a session id for ephemerals, `Long.MIN_VALUE` for containers, and
//! `0xff00_0000_0000_0000 | ttl` for TTL nodes.

use zk_proto::{CreateMode, ErrorCode};

/// `ephemeralOwner` of a container.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte marking an extended type.
const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
/// Bits 40..56: the extended type (0 = TTL).
const RESERVED_BITS_MASK: i64 = 0x00ff_ff00_0000_0000;
/// The largest TTL, ms.
pub const MAX_TTL: i64 = 0x0000_00ff_ffff_ffff;

/// What kind of node an `ephemeralOwner` value denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A plain persistent node (owner 0).
    Persistent,
    /// Owned by a session.
    Ephemeral(i64),
    /// Removed when its last child goes.
    Container,
    /// Removed when unmodified and childless for this many ms.
    Ttl(i64),
}

impl NodeKind {
    /// Decodes an `ephemeralOwner`.
    pub fn from_owner(owner: i64) -> Self {
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if owner & EXTENDED_MASK == EXTENDED_MASK && owner & RESERVED_BITS_MASK == 0 {
            NodeKind::Ttl(owner & MAX_TTL)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }

    /// The `ephemeralOwner` value.
    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => EXTENDED_MASK | ttl,
        }
    }

    /// The kind a create request asks for, checked as Apache's `validateCreateRequest`: TTL modes need
    /// extended types (else Unimplemented) and a TTL in `1..=MAX_TTL` (else BadArguments); a TTL given with a
    /// non-TTL mode is BadArguments too.
    pub fn for_create(
        mode: CreateMode,
        ttl: Option<i64>,
        session: i64,
        extended_types: bool,
    ) -> Result<Self, ErrorCode> {
        if mode.is_ttl() {
            if !extended_types {
                return Err(ErrorCode::Unimplemented);
            }
            return match ttl {
                Some(t) if t > 0 && t <= MAX_TTL => Ok(NodeKind::Ttl(t)),
                _ => Err(ErrorCode::BadArguments),
            };
        }
        if ttl.is_some_and(|t| t >= 0) {
            return Err(ErrorCode::BadArguments);
        }
        Ok(match mode {
            CreateMode::Container => NodeKind::Container,
            m if m.is_ephemeral() => NodeKind::Ephemeral(session),
            _ => NodeKind::Persistent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_round_trips() {
        for kind in [
            NodeKind::Persistent,
            NodeKind::Ephemeral(0x1000_0000_0000_0001),
            NodeKind::Container,
            NodeKind::Ttl(1),
            NodeKind::Ttl(MAX_TTL),
        ] {
            assert_eq!(NodeKind::from_owner(kind.owner()), kind);
        }
        assert_eq!(NodeKind::Ttl(100).owner(), 0xff00_0000_0000_0064_u64 as i64);
    }

    #[test]
    fn create_checks_ttl_as_apache() {
        use CreateMode::*;
        assert_eq!(
            NodeKind::for_create(PersistentWithTtl, Some(10), 1, false),
            Err(ErrorCode::Unimplemented)
        );
        assert_eq!(
            NodeKind::for_create(PersistentWithTtl, Some(0), 1, true),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(
            NodeKind::for_create(PersistentWithTtl, None, 1, true),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(
            NodeKind::for_create(PersistentWithTtl, Some(MAX_TTL + 1), 1, true),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(
            NodeKind::for_create(Persistent, Some(5), 1, true),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(
            NodeKind::for_create(PersistentSequentialWithTtl, Some(5), 1, true),
            Ok(NodeKind::Ttl(5))
        );
        assert_eq!(
            NodeKind::for_create(Container, None, 1, false),
            Ok(NodeKind::Container)
        );
        assert_eq!(
            NodeKind::for_create(EphemeralSequential, None, 7, false),
            Ok(NodeKind::Ephemeral(7))
        );
    }
}
