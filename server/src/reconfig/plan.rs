//! The pure half of reconfig: from a request and what the leader knows, the new membership or the
//! error Apache answers, with Apache's checks in Apache's order. The one check that needs the
//! leader's view of its followers, a synced quorum of the new config (NewConfigNoQuorum), is made
//! by the leader's consensus layer when it carries the change out; so a requester without WRITE
//! permission gets NoAuth even where Apache, checking the quorum first, would say
//! NewConfigNoQuorum.

use std::collections::HashMap;

use zk_proto::{ErrorCode, ReconfigRequest};

use crate::config::{LearnerType, Membership, ServerSpec, apache_order};

/// What the checks need to know about the server and the ensemble.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// `reconfigEnabled`.
    pub reconfig_enabled: bool,
    /// Not standalone (a `server.N` line configured, or `standaloneEnabled=false`).
    pub distributed: bool,
    /// The committed membership (its version is what `curConfigId` is compared with).
    pub current: &'a Membership,
    /// The requester may write `/zookeeper/config` (WRITE permission, super, or `skipACL`).
    pub may_write_config: bool,
}

/// Runs Apache's checks in order and returns the new membership (its version left as the
/// current one: the commit gives it its own).
pub fn plan(facts: &Facts<'_>, request: &ReconfigRequest) -> Result<Membership, ErrorCode> {
    if !facts.reconfig_enabled {
        return Err(ErrorCode::ReconfigDisabled);
    }
    if !facts.distributed {
        return Err(ErrorCode::Unimplemented);
    }
    if request.cur_config_id != -1 && request.cur_config_id != facts.current.version {
        return Err(ErrorCode::BadVersion);
    }
    let next = new_membership(facts.current, request)?;
    if next.voters().next().is_none() {
        return Err(ErrorCode::BadArguments);
    }
    if !facts.may_write_config {
        return Err(ErrorCode::NoAuth);
    }
    Ok(next)
}

/// The membership a request asks for, its members in Apache's order: `newMembers` replaces it
/// whole (parsed, as Apache parses it); otherwise the leaving ids are dropped (an id that is not a
/// member is ignored, as in Apache), then the joining servers are added (or replace the entry with
/// their id: role and client address changes), on a copy of the current order.
pub fn new_membership(
    current: &Membership,
    request: &ReconfigRequest,
) -> Result<Membership, ErrorCode> {
    let mut next = Membership {
        version: current.version,
        ..Membership::default()
    };
    match &request.new_members {
        Some(members) => {
            for spec in parse_server_lines(members)? {
                next.servers.insert(spec.id, spec);
            }
            next.order = apache_order::parsed(next.servers.keys().copied());
        }
        None => {
            let leaving = parse_ids(request.leaving_servers.as_deref().unwrap_or(""))?;
            let joining = parse_server_lines(request.joining_servers.as_deref().unwrap_or(""))?;
            next.servers = current.servers.clone();
            for id in &leaving {
                next.servers.remove(id);
            }
            let joining_ids: Vec<u64> = joining.iter().map(|spec| spec.id).collect();
            for spec in joining {
                next.servers.insert(spec.id, spec);
            }
            next.order =
                apache_order::after_incremental(&current.listed_ids(), &leaving, &joining_ids);
        }
    }
    check_unique_addresses(&next)?;
    Ok(next)
}

/// Parses comma-separated `server.N=spec` entries (blank entries skipped).
fn parse_server_lines(text: &str) -> Result<Vec<ServerSpec>, ErrorCode> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, spec) = entry.split_once('=').ok_or(ErrorCode::BadArguments)?;
            let id = key
                .trim()
                .strip_prefix("server.")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or(ErrorCode::BadArguments)?;
            ServerSpec::parse(id, spec.trim()).map_err(|_| ErrorCode::BadArguments)
        })
        .collect()
}

/// Parses comma-separated server ids (blank entries skipped).
fn parse_ids(text: &str) -> Result<Vec<u64>, ErrorCode> {
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| id.parse::<u64>().map_err(|_| ErrorCode::BadArguments))
        .collect()
}

/// Two members may not share a quorum or election address.
fn check_unique_addresses(membership: &Membership) -> Result<(), ErrorCode> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    for spec in membership.servers.values() {
        for address in [spec.quorum_address(), spec.election_address()] {
            if let Some(other) = seen.insert(address.render(), spec.id)
                && other != spec.id
            {
                return Err(ErrorCode::BadArguments);
            }
        }
    }
    Ok(())
}

/// Whether a spec says the member votes.
pub fn is_voter(spec: &ServerSpec) -> bool {
    spec.role == LearnerType::Participant
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(lines: &[(u64, &str)], version: i64) -> Membership {
        let mut m = Membership {
            version,
            ..Membership::default()
        };
        for (id, spec) in lines {
            m.servers.insert(*id, ServerSpec::parse(*id, spec).unwrap());
        }
        m
    }

    fn request(
        join: Option<&str>,
        leave: Option<&str>,
        members: Option<&str>,
        v: i64,
    ) -> ReconfigRequest {
        ReconfigRequest {
            joining_servers: join.map(str::to_string),
            leaving_servers: leave.map(str::to_string),
            new_members: members.map(str::to_string),
            cur_config_id: v,
        }
    }

    fn one() -> Membership {
        membership(&[(0, "127.0.0.1:2888:3888:participant")], 0x1_0000_0000)
    }

    fn two() -> Membership {
        membership(
            &[
                (0, "127.0.0.1:2888:3888:participant"),
                (1, "127.0.0.1:2889:3889:participant;2182"),
            ],
            5,
        )
    }

    fn facts(current: &Membership) -> Facts<'_> {
        Facts {
            reconfig_enabled: true,
            distributed: true,
            current,
            may_write_config: true,
        }
    }

    #[test]
    fn add_joins_and_renders_like_apache() {
        let current = one();
        let add = request(
            Some("server.1=127.0.0.1:2889:3889:participant;2182"),
            None,
            None,
            -1,
        );
        let next = plan(&facts(&current), &add).unwrap();
        assert_eq!(
            next.config_text(),
            "server.0=127.0.0.1:2888:3888:participant\n\
             server.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182\nversion=100000000"
        );
    }

    #[test]
    fn incremental_changes_list_members_in_apaches_order() {
        let three = Membership::from_config_text(
            "server.1=127.0.0.1:2881:3881:participant\n\
             server.2=127.0.0.1:2882:3882:participant\n\
             server.3=127.0.0.1:2883:3883:participant\nversion=100000002",
        )
        .unwrap();
        let two = new_membership(&three, &request(None, Some("3"), None, -1)).unwrap();
        assert_eq!(two.listed_ids(), vec![1, 2]);
        let add = request(
            Some("server.4=127.0.0.1:2884:3884:participant"),
            None,
            None,
            -1,
        );
        let next = new_membership(&two, &add).unwrap();
        assert_eq!(
            next.config_text(),
            "server.4=127.0.0.1:2884:3884:participant\n\
             server.1=127.0.0.1:2881:3881:participant\n\
             server.2=127.0.0.1:2882:3882:participant\nversion=100000002"
        );
        // The committed text read back keeps that order; `-members` lists by id.
        let read = Membership::from_config_text(&next.config_text()).unwrap();
        assert_eq!(read.listed_ids(), vec![4, 1, 2]);
        let members = request(
            None,
            None,
            Some(
                "server.4=127.0.0.1:2884:3884:participant,server.1=127.0.0.1:2881:3881:participant",
            ),
            -1,
        );
        let whole = new_membership(&read, &members);
        assert_eq!(whole.unwrap().listed_ids(), vec![1, 4]);
    }

    #[test]
    fn a_server_both_leaving_and_joining_stays_as_it_joins() {
        let current = two();
        let both = request(
            Some("server.1=127.0.0.1:2889:3889:observer;2183"),
            Some("1"),
            None,
            -1,
        );
        let next = new_membership(&current, &both).unwrap();
        assert_eq!(next.servers[&1].role, LearnerType::Observer);
    }

    #[test]
    fn remove_drops_and_ignores_unknown_ids() {
        let current = two();
        let next = new_membership(&current, &request(None, Some("1,7"), None, -1)).unwrap();
        assert_eq!(next.servers.keys().copied().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn joiner_with_a_known_id_changes_role_and_client_address() {
        let current = two();
        let change = request(
            Some("server.1=127.0.0.1:2889:3889:observer;127.0.0.1:2190"),
            None,
            None,
            -1,
        );
        let next = new_membership(&current, &change).unwrap();
        assert_eq!(next.servers[&1].role, LearnerType::Observer);
        assert_eq!(
            next.servers[&1].render(),
            "127.0.0.1:2889:3889:observer;127.0.0.1:2190"
        );
    }

    #[test]
    fn members_replace_the_whole_config() {
        let current = one();
        let members = request(
            None,
            Some("0"),
            Some("server.3=127.0.0.1:2891:3891:participant;2184"),
            -1,
        );
        let next = new_membership(&current, &members).unwrap();
        assert_eq!(next.servers.keys().copied().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn malformed_specs_and_duplicate_addresses_are_bad_arguments() {
        let current = one();
        for join in [
            "server.1=127.0.0.1:2889",
            "server.x=127.0.0.1:2889:3889",
            "127.0.0.1:2889:3889",
            "server.1=127.0.0.1:2888:3889:participant",
        ] {
            let result = new_membership(&current, &request(Some(join), None, None, -1));
            assert_eq!(result.unwrap_err(), ErrorCode::BadArguments, "{join}");
        }
        let leave = request(None, Some("one"), None, -1);
        assert_eq!(
            new_membership(&current, &leave).unwrap_err(),
            ErrorCode::BadArguments
        );
    }

    #[test]
    fn checks_run_in_apache_order() {
        let current = one();
        // Everything wrong at once: each fix reveals the next check.
        let bad = request(None, Some("0"), None, 42);
        let mut f = Facts {
            reconfig_enabled: false,
            distributed: false,
            current: &current,
            may_write_config: false,
        };
        assert_eq!(plan(&f, &bad), Err(ErrorCode::ReconfigDisabled));
        f.reconfig_enabled = true;
        assert_eq!(plan(&f, &bad), Err(ErrorCode::Unimplemented));
        f.distributed = true;
        assert_eq!(plan(&f, &bad), Err(ErrorCode::BadVersion));
        let unversioned = request(None, Some("0"), None, current.version);
        assert_eq!(plan(&f, &unversioned), Err(ErrorCode::BadArguments));
        let observer = request(
            Some("server.2=127.0.0.1:2890:3890:observer;2183"),
            None,
            None,
            -1,
        );
        assert_eq!(plan(&f, &observer), Err(ErrorCode::NoAuth));
        f.may_write_config = true;
        assert!(plan(&f, &observer).is_ok());
    }
}
