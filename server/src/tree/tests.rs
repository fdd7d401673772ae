//! Unit tests of the data tree's Stat rules, undo and bookkeeping.

use zk_proto::{Acl, Id, perms};

use super::*;

fn nn(data: Option<Vec<u8>>, owner: i64) -> NewNode<'static> {
    NewNode {
        data,
        acl: WORLD.get_or_init(open_acl),
        owner,
    }
}

static WORLD: std::sync::OnceLock<Vec<Acl>> = std::sync::OnceLock::new();

fn nodes(tree: &DataTree) -> Vec<(String, Node)> {
    let mut all: Vec<_> = tree
        .iter()
        .map(|(p, n)| (p.to_owned(), n.clone()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn fresh_tree_matches_apache() {
    let tree = DataTree::new();
    assert_eq!(tree.node_count(), 5);
    assert_eq!(tree.approximate_data_size(), 1 + 10 + 16 + 17);
    let config = tree.get(CONFIG).unwrap().stat();
    assert_eq!(
        (config.czxid, config.mzxid, config.version, config.aversion),
        (0, 0, 0, -1)
    );
    // Apache shows 2 * creates - numChildren: the system nodes were never created as children.
    assert_eq!(tree.get("/").unwrap().stat().cversion, -1);
    assert_eq!(tree.get(ZOOKEEPER).unwrap().stat().cversion, -2);
    assert_eq!(
        tree.get(CONFIG).unwrap().acl()[0],
        Acl {
            perms: perms::READ,
            id: Id::new("world", "anyone")
        }
    );
    assert_eq!(tree.get("/").unwrap().stat().num_children, 1);
    assert_eq!(tree.get(ZOOKEEPER).unwrap().stat().num_children, 2);
}

#[test]
fn create_sets_child_and_parent_stats() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(Some(b"hello".to_vec()), 0), 1, 0x100, 1000);
    let a = tree.get("/a").unwrap().stat();
    assert_eq!(
        (a.czxid, a.mzxid, a.pzxid, a.ctime, a.mtime),
        (0x100, 0x100, 0x100, 1000, 1000)
    );
    assert_eq!(
        (
            a.version,
            a.cversion,
            a.aversion,
            a.data_length,
            a.num_children
        ),
        (0, 0, 0, 5, 0)
    );
    let root = tree.get("/").unwrap().stat();
    assert_eq!(
        (root.cversion, root.pzxid, root.mzxid, root.num_children),
        (0, 0x100, 0, 2)
    );
    assert_eq!(tree.approximate_data_size(), 44 + 2 + 5);
}

#[test]
fn delete_bumps_parent_cversion_and_pzxid() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(None, 0), 1, 0x100, 1);
    tree.create("/a/b", nn(None, 0), 1, 0x101, 2);
    tree.delete("/a/b", 0x102);
    let a = tree.get("/a").unwrap().stat();
    assert_eq!(
        (a.cversion, a.pzxid, a.mzxid, a.num_children),
        (2, 0x102, 0x100, 0)
    );
    assert!(tree.get("/a/b").is_none());
}

#[test]
fn set_data_and_acl_touch_only_their_fields() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(Some(vec![1]), 0), 1, 0x100, 1);
    tree.set_data("/a", Some(vec![1, 2, 3]), 1, 0x101, 5);
    let a = tree.get("/a").unwrap().stat();
    assert_eq!(
        (
            a.czxid,
            a.mzxid,
            a.pzxid,
            a.ctime,
            a.mtime,
            a.version,
            a.data_length
        ),
        (0x100, 0x101, 0x100, 1, 5, 1, 3)
    );
    let digest = [Acl {
        perms: perms::ALL,
        id: Id::new("digest", "u:h"),
    }];
    tree.set_acl("/a", &digest, 1);
    let a2 = tree.get("/a").unwrap().stat();
    assert_eq!((a2.aversion, a2.mzxid, a2.version), (1, 0x101, 1));
    assert_eq!(&**tree.get("/a").unwrap().acl(), &digest);
}

#[test]
fn undo_restores_everything() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(Some(vec![1]), 0), 1, 0x100, 1);
    tree.create("/a/e", nn(None, 0x55), 1, 0x101, 1);
    let before = nodes(&tree);
    let size = tree.approximate_data_size();
    let undos = vec![
        tree.create("/b", nn(Some(vec![9; 10]), 0x55), 2, 0x102, 2),
        tree.set_data("/a", None, 1, 0x102, 2),
        tree.delete("/a/e", 0x102),
        tree.set_acl("/a", &[], 1),
    ];
    assert_eq!(tree.ephemerals_of(0x55), vec!["/b".to_owned()]);
    for undo in undos.into_iter().rev() {
        tree.undo(undo);
    }
    assert_eq!(nodes(&tree), before);
    assert_eq!(tree.approximate_data_size(), size);
    assert_eq!(tree.ephemerals_of(0x55), vec!["/a/e".to_owned()]);
}

/// Paths with their bodies, sorted by path.
type Listing = Vec<(String, NodeBody)>;

/// Every path with its body, as the tree holds them and as a frozen copy of it lists them.
fn bodies(tree: &DataTree) -> (Listing, Listing) {
    let mut live: Vec<_> = tree
        .iter()
        .map(|(p, n)| (p.to_owned(), n.body().as_ref().clone()))
        .collect();
    let mut frozen: Vec<_> = tree
        .freeze()
        .parents_first()
        .map(|(p, b)| (p.to_owned(), b.clone()))
        .collect();
    live.sort_by(|a, b| a.0.cmp(&b.0));
    frozen.sort_by(|a, b| a.0.cmp(&b.0));
    (live, frozen)
}

#[test]
fn a_frozen_copy_lists_every_node_as_the_tree_holds_it() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(Some(vec![1]), 0), 1, 0x100, 1);
    tree.create("/a/e", nn(None, 0x55), 1, 0x101, 1);
    let (live, frozen) = bodies(&tree);
    assert_eq!(frozen, live);
    let at_first_freeze = tree.freeze();
    let undos = vec![
        tree.create("/b", nn(Some(vec![9; 10]), 0), 2, 0x102, 2),
        tree.set_data("/a", Some(vec![2, 3]), 1, 0x103, 3),
        tree.delete("/a/e", 0x104),
        tree.set_acl("/b", &[], 1),
    ];
    let (live, frozen) = bodies(&tree);
    assert_eq!(frozen, live);
    assert!(frozen.iter().any(|(p, _)| p == "/b") && !frozen.iter().any(|(p, _)| p == "/a/e"));
    // Undone changes reach the copy too.
    for undo in undos.into_iter().rev() {
        tree.undo(undo);
    }
    let (live, frozen) = bodies(&tree);
    assert_eq!(frozen, live);
    // The copy taken before the changes still lists the tree as it was then.
    let earlier: Vec<_> = at_first_freeze
        .parents_first()
        .map(|(p, b)| (p.to_owned(), b.clone()))
        .collect();
    let mut earlier_sorted = earlier.clone();
    earlier_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(earlier_sorted, live);
    assert_eq!(earlier.len(), at_first_freeze.len());
}

#[test]
fn ephemerals_are_indexed_by_session() {
    let mut tree = DataTree::new();
    tree.create("/e1", nn(None, 7), 1, 1, 1);
    tree.create("/e2", nn(None, 7), 2, 2, 1);
    tree.create("/p", nn(None, 0), 3, 3, 1);
    assert_eq!(tree.ephemeral_count(), 2);
    assert_eq!(
        tree.ephemerals_by_session(),
        vec![(7, vec!["/e1".to_owned(), "/e2".to_owned()])]
    );
    tree.delete("/e1", 4);
    assert_eq!(tree.ephemerals_of(7), vec!["/e2".to_owned()]);
}

#[test]
fn containers_and_ttls_expire_as_apache() {
    let mut tree = DataTree::new();
    tree.create("/c", nn(None, CONTAINER_OWNER), 1, 1, 0);
    tree.create("/t", nn(None, NodeKind::Ttl(100).owner()), 2, 2, 1000);
    assert_eq!(
        tree.expired_nodes(1050),
        Vec::<String>::new(),
        "new container never had a child"
    );
    tree.create("/c/x", nn(None, 0), 1, 3, 0);
    tree.delete("/c/x", 4);
    assert_eq!(tree.expired_nodes(1050), vec!["/c".to_owned()]);
    assert_eq!(
        tree.expired_nodes(1101),
        vec!["/c".to_owned(), "/t".to_owned()]
    );
}

#[test]
fn counts_descendants() {
    let mut tree = DataTree::new();
    tree.create("/a", nn(None, 0), 1, 1, 0);
    tree.create("/a/b", nn(None, 0), 1, 2, 0);
    tree.create("/a/b/c", nn(None, 0), 1, 3, 0);
    assert_eq!(tree.descendant_count("/a"), 2);
    assert_eq!(
        tree.descendant_count("/"),
        6,
        "Apache: node count minus the root's two entries"
    );
}

#[test]
fn config_keeps_version_minus_one() {
    let mut tree = DataTree::new();
    tree.set_config(
        "server.0=127.0.0.1:2888:3888:participant\nversion=100000000",
        0x1_0000_0000,
        77,
    );
    let s = tree.get(CONFIG).unwrap().stat();
    assert_eq!(
        (
            s.czxid,
            s.mzxid,
            s.mtime,
            s.version,
            s.aversion,
            s.data_length
        ),
        (0, 0x1_0000_0000, 77, -1, -1, 58)
    );
    assert_eq!(tree.approximate_data_size(), 102);
}
