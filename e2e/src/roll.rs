//! A rolling restart watched from outside: which pods each member went through, when each member's pod before
//! the roll went and when its new pod became Ready, polled while the roll runs. Member pods keep their names, so a member is its pod name.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use crate::Result;
use crate::pods::{Snapshot, snapshot};
use crate::poll::Polling;

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
    /// When each member's pod before the roll was first seen deleted (being deleted, gone or replaced).
    pub gone: BTreeMap<String, Instant>,
    /// When each member's first pod other than its pod before the roll was first seen Ready.
    pub back: BTreeMap<String, Instant>,
}

impl RollRecord {
    /// Members in the order they came back (a pod Ready after the watch ended is not listed).
    pub fn order(&self) -> Vec<String> {
        by_time(&self.back)
    }

    /// Members in the order their pods went.
    pub fn gone_order(&self) -> Vec<String> {
        by_time(&self.gone)
    }

    /// Each member's restart, in the order the members went: from `lead_in` before its pod before the roll
    /// went (so that a hand-over of leadership just before counts) to the moment its new pod was Ready (the end
    /// of the watch, if it never was).
    pub fn restarts(&self, lead_in: Duration) -> Vec<(String, Instant, Instant)> {
        let mut gone: Vec<(&Instant, &String)> =
            self.gone.iter().map(|(name, at)| (at, name)).collect();
        gone.sort();
        gone.into_iter()
            .map(|(&at, name)| {
                let from = at
                    .checked_sub(lead_in)
                    .unwrap_or(self.started)
                    .max(self.started);
                let to = self.back.get(name).copied().unwrap_or(self.stopped);
                (name.clone(), from, to)
            })
            .collect()
    }
}

/// A watch under way; [`RollWatch::stop`] ends it.
pub struct RollWatch(Polling<RollRecord>);

fn record(record: &mut RollRecord, pods: &Snapshot, now: Instant) {
    for (name, uids) in &record.uids {
        if pods.get(name).map(|pod| &pod.uid) != uids.first() {
            record.gone.entry(name.clone()).or_insert(now);
        }
    }
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
            gone: BTreeMap::new(),
            back: BTreeMap::new(),
        };
        record(&mut first, &snapshot(&pods, &selector).await?, started);
        Ok(Self(Polling::start(first, POLL, move |mut seen| {
            let (pods, selector) = (pods.clone(), selector.clone());
            async move {
                let now_seen = snapshot(&pods, &selector).await?;
                record(&mut seen, &now_seen, Instant::now());
                Ok(seen)
            }
        })))
    }

    /// Stops watching and returns what was seen.
    pub async fn stop(self) -> Result<RollRecord> {
        let mut seen = self.0.stop().await?;
        seen.stopped = Instant::now();
        Ok(seen)
    }
}

/// The names of `events` sorted by their time.
fn by_time<'a>(events: impl IntoIterator<Item = (&'a String, &'a Instant)>) -> Vec<String> {
    let mut order: Vec<(&Instant, &String)> =
        events.into_iter().map(|(name, at)| (at, name)).collect();
    order.sort();
    order.into_iter().map(|(_, name)| name.clone()).collect()
}
