//! The iteration order of Java's `HashSet<String>`, which Apache returns child lists and ephemeral lists
//! in: entries go by bucket (`(h ^ h >>> 16) & (capacity - 1)` of `String.hashCode`), and by insertion
//! within a bucket. Clients see this order, so it is reproduced rather than sorted.

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The bucket of `s` in a table of `capacity` (a power of two).
fn bucket(s: &str, capacity: usize) -> usize {
    hash_bucket(java_string_hash(s), capacity)
}

/// The bucket of an object whose `hashCode` is `hash` in a Java `HashMap` or `ConcurrentHashMap` table of
/// `capacity` (a power of two).
pub fn hash_bucket(hash: i32, capacity: usize) -> usize {
    let h = hash as u32;
    ((h ^ (h >> 16)) as usize) & (capacity - 1)
}

/// The table capacity of a `HashSet` created with `initial` capacity (a power of two) after `len`
/// insertions: it doubles whenever the size exceeds three quarters of it.
pub fn grown_capacity(initial: usize, len: usize) -> usize {
    let mut capacity = initial;
    while len * 4 > capacity * 3 {
        capacity *= 2;
    }
    capacity
}

/// The table capacity of a `HashSet` copy (`clone()` or `new HashSet<>(c)`) of `len` entries:
/// `tableSizeFor((int) (len / 0.75f + 1))`.
pub fn copy_capacity(len: usize) -> usize {
    let wanted = (len as f32 / 0.75 + 1.0) as usize;
    wanted.max(1).next_power_of_two()
}

/// Sorts `items` (name, insertion rank) into the iteration order of a table of `capacity`; items already
/// in a set's iteration order keep their relative order within a bucket (the sort is stable).
pub fn sort_as_java(items: &mut [(String, i64)], capacity: usize) {
    items.sort_by_key(|(name, _)| bucket(name, capacity));
}

/// Sorts `items` (name, insertion rank) into insertion order (by name where ranks are equal), then into the
/// iteration order of a table of `capacity`.
pub fn order_as_java(items: &mut [(String, i64)], capacity: usize) {
    items.sort_unstable_by(|(a, a_rank), (b, b_rank)| a_rank.cmp(b_rank).then_with(|| a.cmp(b)));
    sort_as_java(items, capacity);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(items: &[(String, i64)]) -> Vec<&str> {
        items.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn hashes_as_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("zookeeper"), 1_600_681_804);
    }

    #[test]
    fn children_order_matches_a_java_hash_set_of_capacity_eight() {
        // Recorded with Java 17: a HashSet(8) filled in this order iterates as
        // [seq-0000000003, seq-0000000002, eph, cfg, eseq-0000000004].
        let mut items: Vec<(String, i64)> = [
            "cfg",
            "eph",
            "seq-0000000002",
            "seq-0000000003",
            "eseq-0000000004",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i as i64))
        .collect();
        order_as_java(&mut items, grown_capacity(8, 5));
        assert_eq!(
            names(&items),
            [
                "seq-0000000003",
                "seq-0000000002",
                "eph",
                "cfg",
                "eseq-0000000004"
            ]
        );
    }

    #[test]
    fn a_cloned_set_is_smaller() {
        // Apache's getEphemerals iterates a clone: 2 entries land in a table of 4.
        assert_eq!(copy_capacity(2), 4);
        assert_eq!(copy_capacity(0), 1);
        assert_eq!(grown_capacity(16, 12), 16);
        assert_eq!(grown_capacity(16, 13), 32);
        let mut items = vec![
            ("/app/eph".to_string(), 1),
            ("/app/eseq-0000000004".to_string(), 2),
        ];
        order_as_java(&mut items, grown_capacity(16, 2));
        sort_as_java(&mut items, copy_capacity(2));
        assert_eq!(names(&items), ["/app/eseq-0000000004", "/app/eph"]);
    }
}
