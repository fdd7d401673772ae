//! Apache's order of `server.N` lines: the iteration order of the Java `HashMap<Long, QuorumServer>`
//! that holds a configuration's members.
//!
//! Apache prints a configuration (the reconfig reply, `config`, `/zookeeper/config`, `conf`) by
//! walking that map, so its order follows how the map was built, not the ids:
//!
//! - an incremental reconfig (`-add`/`-remove`) copies the last configuration's map (`new
//!   HashMap<>(map)`, sized for the old member count), removes the leaving ids, then removes and
//!   puts each joiner. After `-remove 3` and `-add server.4` the copy of {1, 2} has four buckets,
//!   so server.4 (bucket 0) comes first: server.4, server.1, server.2;
//! - a configuration parsed from text (`-members`, a dynamic file, a follower reading the
//!   committed text) is put into a map of default capacity, which for ids below its bucket count
//!   is id order.
//!
//! [`JavaLongMap`] models the map's buckets (JDK 8–18 sizing, which Debian's JDK 17 uses): a
//! table of power-of-two length, a key's bucket its spread hash masked by the length, a chain per
//! bucket in insertion order, and a resize that doubles the table and splits each chain keeping
//! its order. Within a bucket (ids that differ by a multiple of the table length) a parsed
//! configuration is assumed to be put in id order; Apache puts it in the order of its
//! `Properties`, which only such ids would reveal.

use crate::tree::java_order::{copy_capacity, hash_bucket};

/// A Java `HashMap` with `Long` keys, reduced to what decides iteration order.
#[derive(Debug, Clone)]
pub struct JavaLongMap {
    table: Vec<Vec<u64>>,
    /// The table length to allocate on the first put (Java's `threshold` before allocation).
    initial_capacity: usize,
    len: usize,
}

/// Java's default initial capacity.
const DEFAULT_CAPACITY: usize = 16;
/// A chain longer than this is turned into a tree by Java, or the table resized while shorter
/// than [`MIN_TREEIFY_CAPACITY`]. Trees (nine keys in one bucket of a table of 64 or more) are
/// not modelled.
const TREEIFY_THRESHOLD: usize = 8;
/// See [`TREEIFY_THRESHOLD`].
const MIN_TREEIFY_CAPACITY: usize = 64;

impl JavaLongMap {
    /// `new HashMap<>()`.
    pub fn new() -> JavaLongMap {
        JavaLongMap {
            table: Vec::new(),
            initial_capacity: DEFAULT_CAPACITY,
            len: 0,
        }
    }

    /// `new HashMap<>(other)` for a map that iterates as `listed`: sized for its length (`len /
    /// 0.75 + 1`, rounded up to a power of two), then filled in that order.
    pub fn copy_of(listed: &[u64]) -> JavaLongMap {
        let mut copy = JavaLongMap::new();
        if !listed.is_empty() {
            copy.initial_capacity = copy_capacity(listed.len());
        }
        for &id in listed {
            copy.put(id);
        }
        copy
    }

    /// A map of default capacity with `ids` put in id order: a configuration parsed from text.
    pub fn parsed(ids: impl IntoIterator<Item = u64>) -> JavaLongMap {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        let mut map = JavaLongMap::new();
        for id in ids {
            map.put(id);
        }
        map
    }

    /// `put(id, ..)`: a new key goes to the end of its bucket's chain; an existing one stays. A
    /// chain grown past eight keys in a table shorter than 64 makes Java resize (where it would
    /// otherwise turn the chain into a tree); more keys than three quarters of the table too.
    pub fn put(&mut self, id: u64) {
        if self.table.is_empty() {
            self.table = vec![Vec::new(); self.initial_capacity];
        }
        let bucket = self.bucket(id);
        if self.table[bucket].contains(&id) {
            return;
        }
        self.table[bucket].push(id);
        if self.table[bucket].len() > TREEIFY_THRESHOLD && self.table.len() < MIN_TREEIFY_CAPACITY {
            self.resize();
        }
        self.len += 1;
        if self.len > self.table.len() * 3 / 4 {
            self.resize();
        }
    }

    /// `remove(id)`.
    pub fn remove(&mut self, id: u64) {
        if self.table.is_empty() {
            return;
        }
        let bucket = self.bucket(id);
        let chain = &mut self.table[bucket];
        if let Some(at) = chain.iter().position(|&k| k == id) {
            chain.remove(at);
            self.len -= 1;
        }
    }

    /// The keys in iteration order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.table.iter().flatten().copied()
    }

    fn bucket(&self, id: u64) -> usize {
        bucket_of(id, self.table.len())
    }

    /// Doubles the table; each chain splits into the one that stays and the one that moves up by
    /// the old length, both in their old order.
    fn resize(&mut self) {
        let old = std::mem::take(&mut self.table);
        let length = old.len() * 2;
        self.table = vec![Vec::new(); length];
        for id in old.into_iter().flatten() {
            let bucket = bucket_of(id, length);
            self.table[bucket].push(id);
        }
    }
}

impl Default for JavaLongMap {
    fn default() -> JavaLongMap {
        JavaLongMap::new()
    }
}

/// The bucket of a `Long` key (`Long.hashCode`: the high word folded into the low one) in a table
/// of `length` (a power of two).
fn bucket_of(id: u64, length: usize) -> usize {
    hash_bucket((id ^ (id >> 32)) as u32 as i32, length)
}

/// The order of an incremental reconfig's result: the last configuration's map (`listed`, in its
/// printed order) copied, the leaving ids removed, then each joiner removed and put.
pub fn after_incremental(listed: &[u64], leaving: &[u64], joining: &[u64]) -> Vec<u64> {
    let mut next = JavaLongMap::copy_of(listed);
    for &id in leaving {
        next.remove(id);
    }
    for &id in joining {
        next.remove(id);
        next.put(id);
    }
    next.iter().collect()
}

/// The order of a configuration parsed from text.
pub fn parsed(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    JavaLongMap::parsed(ids).iter().collect()
}

/// A configuration text (`server.N=` lines, then the rest) with its server lines in the order
/// Apache gives them when it parses that text: how a member that did not build the configuration
/// itself (a follower, or any member after a restart) prints it from its own quorum verifier.
pub fn as_parsed(text: &str) -> String {
    let id_of = |line: &str| {
        line.strip_prefix("server.")
            .and_then(|rest| rest.split_once('='))
            .and_then(|(id, _)| id.trim().parse::<u64>().ok())
    };
    let (mut servers, rest): (Vec<&str>, Vec<&str>) =
        text.split('\n').partition(|line| id_of(line).is_some());
    let order = parsed(servers.iter().filter_map(|line| id_of(line)));
    servers.sort_by_key(|line| order.iter().position(|id| Some(*id) == id_of(line)));
    servers
        .into_iter()
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_three_then_add_four_lists_four_first() {
        // -remove 3 from {1, 2, 3}: the copy has 8 buckets, {1, 2} in id order.
        let after_remove = after_incremental(&[1, 2, 3], &[3], &[]);
        assert_eq!(after_remove, vec![1, 2]);
        // -add 4 to {1, 2}: the copy has 4 buckets; 4 lands in bucket 0.
        assert_eq!(after_incremental(&after_remove, &[], &[4]), vec![4, 1, 2]);
        // -remove 4 from {4, 1, 2}: the copy has 8 buckets again, id order.
        assert_eq!(after_incremental(&[4, 1, 2], &[4], &[]), vec![1, 2]);
    }

    #[test]
    fn both_operations_in_one_request() {
        // {1, 2, 3} copied into 8 buckets; 3 leaves, 4 joins: id order.
        assert_eq!(after_incremental(&[1, 2, 3], &[3], &[4]), vec![1, 2, 4]);
        // {1} copied into 2 buckets; 2 and 3 join and the table grows to 4: 1, 2, 3.
        assert_eq!(after_incremental(&[1], &[], &[2, 3]), vec![1, 2, 3]);
        // {1, 2} into 4 buckets; 5 joins (bucket 1, after 1): 1, 5, 2.
        assert_eq!(after_incremental(&[1, 2], &[], &[5]), vec![1, 5, 2]);
    }

    #[test]
    fn a_joiner_replacing_its_own_entry_moves_to_the_end_of_its_bucket() {
        // {1, 5} in 4 buckets share bucket 1; re-adding 1 puts it after 5.
        assert_eq!(after_incremental(&[1, 5], &[], &[1]), vec![5, 1]);
    }

    #[test]
    fn parsed_configurations_list_small_ids_in_id_order_and_large_ones_by_bucket() {
        assert_eq!(parsed([5, 2, 1]), vec![1, 2, 5]);
        // 16 buckets: 17 shares bucket 1 with 1, after it; 18 follows in bucket 2.
        assert_eq!(parsed([18, 17, 1, 3]), vec![1, 17, 18, 3]);
    }

    #[test]
    fn a_growing_map_keeps_chain_order_when_it_resizes() {
        let mut map = JavaLongMap::new();
        for id in [1, 17, 33, 2, 49, 65, 81, 97, 113] {
            map.put(id);
        }
        // Eight keys share bucket 1 of 16, in insertion order.
        assert_eq!(map.table.len(), 16);
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            vec![1, 17, 33, 49, 65, 81, 97, 113, 2]
        );
        // A ninth resizes (no tree below 64 buckets): 16 -> 32, the chain splits in order.
        map.put(129);
        assert_eq!(map.table.len(), 32);
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            vec![1, 33, 65, 97, 129, 2, 17, 49, 81, 113]
        );
        // Thirteen keys in 16 buckets resize by count (13 > 12).
        let by_count = JavaLongMap::parsed(0..13);
        assert_eq!(by_count.table.len(), 32);
        assert_eq!(
            by_count.iter().collect::<Vec<_>>(),
            (0..13).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_parsed_text_lists_its_server_lines_in_parsed_order() {
        let text = "server.4=h:4:4:participant\nserver.1=h:1:1:participant\nserver.2=h:2:2:participant\nversion=100000003";
        assert_eq!(
            as_parsed(text),
            "server.1=h:1:1:participant\nserver.2=h:2:2:participant\nserver.4=h:4:4:participant\nversion=100000003"
        );
        assert_eq!(as_parsed(""), "");
    }

    #[test]
    fn large_ids_spread_their_high_bits() {
        // Long.hashCode folds the high word in: 1 << 32 hashes as 1.
        assert_eq!(bucket_of(1 << 32, 16), 1);
        // HashMap.hash folds bits 16.. into the low bits: 65536 hashes as 65537 -> bucket 1.
        assert_eq!(bucket_of(65536, 16), 1);
    }
}
