//! A subtree as clients see it, every znode's data, ACL and stat (czxid, mzxid, pzxid, times, versions,
//! ephemeral owner, children), read through one session, and what differs between two reads of it: how a
//! migration is checked to carry every znode unchanged.

use std::collections::BTreeMap;

use zookeeper_client::{Acl, Stat};

use crate::zookeeper::connect;
use crate::{Error, Result};

/// One znode as read.
#[derive(Clone, Debug, PartialEq)]
pub struct Znode {
    /// Its data.
    pub data: Vec<u8>,
    /// Its ACL.
    pub acl: Vec<Acl>,
    /// Its stat.
    pub stat: Stat,
}

/// Every znode of a subtree by path.
pub type Tree = BTreeMap<String, Znode>;

/// Reads the subtree at `root` through a new session at `address`, after a `sync`, authenticated with each
/// `(scheme, credential)` of `auth` (so that znodes readable only by those identities are read too).
pub async fn read(address: &str, root: &str, auth: &[(&str, &[u8])]) -> Result<Tree> {
    let client = connect(address).await?;
    let zk_err = |path: &str| {
        let what = format!("{address} {path}");
        move |source| Error::Unexpected(format!("reading {what}: {source}"))
    };
    for (scheme, credential) in auth {
        client
            .auth(scheme, credential)
            .await
            .map_err(zk_err("auth"))?;
    }
    client.sync(root).await.map_err(zk_err(root))?;
    let mut tree = Tree::new();
    let mut pending = vec![root.to_string()];
    while let Some(path) = pending.pop() {
        let (data, stat) = client.get_data(&path).await.map_err(zk_err(&path))?;
        let (acl, _) = client.get_acl(&path).await.map_err(zk_err(&path))?;
        let children = client.list_children(&path).await.map_err(zk_err(&path))?;
        pending.extend(children.iter().map(|child| format!("{path}/{child}")));
        tree.insert(path, Znode { data, acl, stat });
    }
    Ok(tree)
}

/// What differs from `expected` in `found`: each znode missing, added, or read with other data, ACL or stat.
pub fn differences(expected: &Tree, found: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, want) in expected {
        match found.get(path) {
            None => out.push(format!("{path} is missing")),
            Some(got) if got != want => {
                out.push(format!("{path}: expected {want:?}, found {got:?}"))
            }
            Some(_) => {}
        }
    }
    out.extend(
        found
            .keys()
            .filter(|path| !expected.contains_key(*path))
            .map(|path| format!("{path} was not expected")),
    );
    out
}

#[cfg(test)]
mod tests {
    use zookeeper_client::Acls;

    use super::*;

    fn znode(data: &str, mzxid: i64) -> Znode {
        Znode {
            data: data.as_bytes().to_vec(),
            acl: Acls::anyone_all().to_vec(),
            stat: Stat {
                czxid: 1,
                mzxid,
                pzxid: 1,
                ctime: 0,
                mtime: 0,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: 0,
                data_length: data.len() as i32,
                num_children: 0,
            },
        }
    }

    #[test]
    fn names_each_missing_added_and_changed_znode() {
        let expected = Tree::from([
            ("/a".to_string(), znode("a", 2)),
            ("/b".to_string(), znode("b", 3)),
            ("/c".to_string(), znode("c", 4)),
        ]);
        assert!(differences(&expected, &expected.clone()).is_empty());
        let mut found = expected.clone();
        found.remove("/a");
        found.insert("/b".to_string(), znode("b", 5));
        found.insert("/d".to_string(), znode("d", 6));
        let diff = differences(&expected, &found);
        assert_eq!(diff.len(), 3, "{diff:?}");
        assert_eq!(diff[0], "/a is missing");
        assert!(diff[1].starts_with("/b: expected"), "{diff:?}");
        assert_eq!(diff[2], "/d was not expected");
    }
}
