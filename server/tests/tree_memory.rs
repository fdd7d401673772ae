//! What the data tree allocates per znode, counted by a wrapper around the system allocator: the
//! benchmark's memory load (100,000 znodes with 100-byte values under one parent, the paths
//! `zk-bench --memory-znodes` creates) must stay within the tree's share of the 600-byte budget
//! (docs/performance.md, "Where the memory goes"), and a snapshot's frozen copy must allocate
//! nothing per node.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use zk_server::tree::{DataTree, NewNode, open_acl};

/// Bytes the process has asked for and not given back.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ZNODES: i64 = 100_000;
const PARENT: &str = "/zkbench/memory";

fn loaded_tree() -> DataTree {
    let mut tree = DataTree::new();
    let acl = open_acl();
    let mut zxid = 1;
    let mut create = |tree: &mut DataTree, path: &str, data: Vec<u8>| {
        let parent = zk_server::tree::path::parent(path).unwrap();
        let cversion = tree.get(parent).unwrap().stored_stat().cversion + 1;
        let new = NewNode {
            data: Some(data),
            acl: &acl,
            owner: 0,
        };
        tree.create(path, new, cversion, zxid, 1_700_000_000_000 + zxid);
        zxid += 1;
    };
    create(&mut tree, "/zkbench", Vec::new());
    create(&mut tree, PARENT, Vec::new());
    for n in 0..ZNODES {
        // 8 sessions, as the benchmark's load: w<session>-<n>.
        let path = format!("{PARENT}/w{}-{}", n % 8, n / 8);
        create(&mut tree, &path, vec![b'v'; 100]);
    }
    tree
}

#[test]
fn a_znode_of_the_memory_load_costs_the_tree_at_most_360_bytes_and_a_snapshot_copy_nothing() {
    let before = LIVE.load(Ordering::Relaxed);
    let tree = loaded_tree();
    let per_znode = (LIVE.load(Ordering::Relaxed) - before) / ZNODES as isize;
    eprintln!("tree: {per_znode} bytes per znode");
    // 100 B of data, a 24-byte path and an 8-byte child name are 132 B; the rest is the node map,
    // the persistent map of bodies (about 60 B), the shared body and the parent's child set.
    assert!(
        (132..=360).contains(&per_znode),
        "{per_znode} bytes per znode"
    );
    let before_freeze = LIVE.load(Ordering::Relaxed);
    let frozen = tree.freeze();
    let per_znode_frozen = (LIVE.load(Ordering::Relaxed) - before_freeze) / ZNODES as isize;
    eprintln!("frozen copy: {per_znode_frozen} bytes per znode");
    assert_eq!(frozen.len(), tree.iter().count());
    // One clone of the persistent map of bodies: nothing is allocated per node.
    assert_eq!(per_znode_frozen, 0);
}
