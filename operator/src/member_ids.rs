//! The server ids of the two kinds of member: voters take ids from 1 up, observers from
//! [`FIRST_OBSERVER_ID`] up, so an id never changes role while it is in a configuration, and a pod's role is
//! known from its id alone (before it is in any configuration).
//!
//! Both ranges stay below 255: Apache ZooKeeper with extended types (TTL nodes) refuses larger ids.

use std::ops::RangeInclusive;

/// The first id of an observer; voters use the ids below it.
pub const FIRST_OBSERVER_ID: u32 = 101;

/// Ids the operator gives voters.
pub const VOTER_IDS: RangeInclusive<u32> = 1..=FIRST_OBSERVER_ID - 1;

/// Ids the operator gives observers.
pub const OBSERVER_IDS: RangeInclusive<u32> = FIRST_OBSERVER_ID..=254;

/// Whether the operator creates member `id` as an observer.
pub fn is_observer_id(id: u32) -> bool {
    OBSERVER_IDS.contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_are_disjoint_and_fit_apache_ids() {
        assert!(!is_observer_id(*VOTER_IDS.end()));
        assert!(is_observer_id(*OBSERVER_IDS.start()));
        assert!(!is_observer_id(255));
        assert!(VOTER_IDS.end() < OBSERVER_IDS.start());
    }
}
