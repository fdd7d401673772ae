//! Unit tests of watch delivery as Apache's DataTree triggers it.

use bytes::BytesMut;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use zk_proto::{Record, ReplyHeader, WatcherEvent};

use super::*;

fn session(m: &WatchManager, id: i64) -> UnboundedReceiver<BytesMut> {
    let (tx, rx) = unbounded_channel();
    m.register_session(id, tx);
    rx
}

/// The events queued for a session, as (type, path).
fn events(rx: &mut UnboundedReceiver<BytesMut>) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        let mut r = zk_proto::Reader::new(&frame[4..]);
        let header = ReplyHeader::read(&mut r).unwrap();
        assert_eq!(header.xid, -1);
        let e = WatcherEvent::read(&mut r).unwrap();
        assert_eq!(e.state, 3);
        out.push((e.event_type, e.path));
    }
    out
}

#[test]
fn create_fires_exist_and_parent_child_watches() {
    let m = WatchManager::default();
    let mut rx = session(&m, 1);
    m.add(1, "/a", WatchKind::Data);
    m.add(1, "/", WatchKind::Child);
    m.fire(5, &[Change::Created("/a".into())]);
    assert_eq!(events(&mut rx), vec![(1, "/a".into()), (4, "/".into())]);
    m.fire(6, &[Change::Created("/b".into())]);
    assert!(events(&mut rx).is_empty(), "one-shot watches are gone");
    assert_eq!(m.count(), 0);
}

#[test]
fn delete_notifies_once_per_session() {
    let m = WatchManager::default();
    let mut rx = session(&m, 1);
    let mut rx2 = session(&m, 2);
    m.add(1, "/a", WatchKind::Data);
    m.add(1, "/a", WatchKind::Child);
    m.add(2, "/a", WatchKind::Child);
    m.fire(5, &[Change::Deleted("/a".into())]);
    assert_eq!(events(&mut rx), vec![(2, "/a".into())]);
    assert_eq!(events(&mut rx2), vec![(2, "/a".into())]);
}

#[test]
fn persistent_and_recursive_watches() {
    let m = WatchManager::default();
    let mut rx = session(&m, 1);
    m.add_persistent(1, "/p", false);
    m.add_persistent(1, "/r", true);
    m.fire(
        1,
        &[
            Change::Created("/p/x".into()),
            Change::DataChanged("/p".into()),
        ],
    );
    assert_eq!(events(&mut rx), vec![(4, "/p".into()), (3, "/p".into())]);
    m.fire(
        2,
        &[
            Change::Created("/r/x".into()),
            Change::DataChanged("/r/x".into()),
            Change::Deleted("/r/x".into()),
        ],
    );
    assert_eq!(
        events(&mut rx),
        vec![(1, "/r/x".into()), (3, "/r/x".into()), (2, "/r/x".into())]
    );
    assert!(m.contains(1, "/r", WatcherType::PersistentRecursive));
    assert!(!m.contains(1, "/r", WatcherType::Children));
    assert!(m.contains(1, "/p", WatcherType::Children));
    assert!(m.remove(1, "/p", WatcherType::Any));
    assert!(!m.remove(1, "/p", WatcherType::Any));
    assert_eq!(m.count(), 1);
}

#[test]
fn summary_and_dumps_follow_apache() {
    let m = WatchManager::default();
    m.add(0x10, "/a", WatchKind::Data);
    m.add(0x10, "/a", WatchKind::Child);
    m.add(0x11, "/b", WatchKind::Data);
    assert_eq!(
        m.summary(),
        WatchSummary {
            connections: 2,
            paths: 2,
            total: 2
        }
    );
    assert_eq!(m.count(), 3);
    assert_eq!(m.dump(true), "/a\n\t0x10\n/b\n\t0x11\n");
    assert_eq!(m.dump(false), "0x10\n\t/a\n0x11\n\t/b\n");
    m.remove_session(0x10);
    assert_eq!(m.count(), 1);
}
