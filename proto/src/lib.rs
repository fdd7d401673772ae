//! ZooKeeper client-protocol wire format, as spoken by Apache ZooKeeper 3.9 and its clients.
//!
//! - [`jute`]: the serialization primitives ([`Reader`], [`Writer`]) and the [`Record`] trait;
//! - [`frame`]: splitting length-prefixed frames off a read buffer, building reply and notification frames;
//! - [`codes`]: op codes, error codes, watch event types, keeper states, create and watch modes, permissions;
//! - [`records`]: every request and response record, the connect handshake and multi framing.

pub mod codes;
pub mod frame;
pub mod jute;
pub mod records;

pub use codes::{
    AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OpCode, WatcherType, perms, xid,
};
pub use frame::{FrameError, split_frame};
pub use jute::{DecodeError, Reader, Record, Strings, Writer};
pub use records::*;
