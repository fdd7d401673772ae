//! A rolling restart watched from outside: which pods each member went through and when each member's new
//! pod became Ready, polled while the roll runs. Member pods keep their names, so a member is its pod name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::task::JoinHandle;

use crate::pods::{Snapshot, snapshot};
use crate::{Error, Result};

/// Pause between two looks at the pods.
const POLL: Duration = Duration::from_millis(100);

/// What a roll did to the member pods.
#[derive(Clone, Debug)]
pub struct RollRecord {
    /// When the watch started (just before the change was made).
    pub started: Instant,
    /// When the watch stopped (once the ensemble had settled).
    pub stopped: Instant,
    /// Every pod UID seen for each member, in the order seen; the first is the pod before the roll.
    pub uids: BTreeMap<String, Vec<String>>,
    /// When each member's first pod other than its pod before the roll was first seen Ready.
    pub back: BTreeMap<String, Instant>,
}

impl RollRecord {
    /// Members in the order they came back.
    pub fn order(&self) -> Vec<String> {
        let mut order: Vec<(&Instant, &String)> =
            self.back.iter().map(|(name, at)| (at, name)).collect();
        order.sort();
        order.into_iter().map(|(_, name)| name.clone()).collect()
    }

    /// Each member's share of the roll, in the order they came back: from the moment the member before it was
    /// back (the start, for the first) to the moment it was back itself (the end of the watch, for the last,
    /// so that what follows its return counts too). A hand-over before a member restarts falls in its share.
    pub fn windows(&self) -> Vec<(String, Instant, Instant)> {
        let order = self.order();
        let mut from = self.started;
        let mut windows = Vec::new();
        for (i, name) in order.iter().enumerate() {
            let to = if i + 1 == order.len() {
                self.stopped
            } else {
                self.back[name]
            };
            windows.push((name.clone(), from, to));
            from = to;
        }
        windows
    }
}

/// A watch under way; [`RollWatch::stop`] ends it.
pub struct RollWatch {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<RollRecord>>,
}

fn record(record: &mut RollRecord, pods: &Snapshot, now: Instant) {
    for (name, pod) in pods {
        let uids = record.uids.entry(name.clone()).or_default();
        if uids.last() != Some(&pod.uid) {
            uids.push(pod.uid.clone());
        }
        if pod.ready && uids.first() != Some(&pod.uid) {
            record.back.entry(name.clone()).or_insert(now);
        }
    }
}

impl RollWatch {
    /// Starts watching the pods matching `selector`; the pods seen first are the ones before the roll.
    pub async fn start(pods: Api<Pod>, selector: String) -> Result<Self> {
        let started = Instant::now();
        let mut first = RollRecord {
            started,
            stopped: started,
            uids: BTreeMap::new(),
            back: BTreeMap::new(),
        };
        record(&mut first, &snapshot(&pods, &selector).await?, started);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut seen = first;
            while !stopping.load(Ordering::Relaxed) {
                let pods = snapshot(&pods, &selector).await?;
                record(&mut seen, &pods, Instant::now());
                tokio::time::sleep(POLL).await;
            }
            seen.stopped = Instant::now();
            Ok(seen)
        });
        Ok(Self { stop, task })
    }

    /// Stops watching and returns what was seen.
    pub async fn stop(self) -> Result<RollRecord> {
        self.stop.store(true, Ordering::Relaxed);
        self.task
            .await
            .map_err(|e| Error::Unexpected(format!("roll watch task: {e}")))?
    }
}
