//! Entry points for the fuzz targets (`fuzz/`, built with the `fuzzing` feature): the decoders of
//! bytes this module reads from other members and from disk, with no Raft type in their
//! signatures. Each must return (not panic, not allocate without bound) on any input.

use super::codec;
use super::network::wire::{PeerRequest, PeerResponse};

/// Decodes `bytes` as the body of a peer frame, both ways (a request to this member, an answer
/// from another); returns whether either decoded.
pub fn peer_message(bytes: &[u8]) -> bool {
    let request = codec::decode::<PeerRequest>(bytes).is_ok();
    let response = codec::decode::<PeerResponse>(bytes).is_ok();
    request || response
}

/// Decodes `bytes` as a log segment file's content; returns how many entries decoded.
pub fn log_segment(bytes: &[u8]) -> usize {
    super::log_store::decode_segment(bytes)
}
