//! Where the time of a scaling step goes: for every member that joins or leaves while the watch runs, when its
//! pod was first seen, scheduled, its container running, the pod Ready, and when `status.members` first showed
//! it voting (a joiner) or no longer voting (a member removed) and its pod gone. Polled every 100 ms from just
//! before the change, so each figure is at most that much late; timestamps the API server keeps (creation,
//! conditions) have whole-second resolution and would hide the phases this is meant to show.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use zk_operator::types::ZkEnsemble;

use crate::Result;
use crate::error::kube_err;
use crate::poll::Polling;

/// Pause between two looks.
const POLL: Duration = Duration::from_millis(100);

/// When each phase of one member's join or removal was first seen.
#[derive(Clone, Debug, Default)]
struct MemberPhases {
    /// Its pod exists (a joiner's pod was created).
    created: Option<Instant>,
    /// Its pod is bound to a node (its volume provisioned, for a new claim).
    scheduled: Option<Instant>,
    /// Its container runs.
    started: Option<Instant>,
    /// Its pod is Ready.
    ready: Option<Instant>,
    /// `status.members` shows it voting.
    voting: Option<Instant>,
    /// `status.members` no longer shows it voting (it voted when the watch began).
    removed: Option<Instant>,
    /// Its pod is gone or being deleted.
    gone: Option<Instant>,
}

/// What a watched step did: the members that joined or left, and their phases from the watch's start.
#[derive(Clone, Debug)]
pub struct StepPhases {
    started: Instant,
    voters_before: BTreeSet<u32>,
    pods_before: BTreeSet<u32>,
    members: BTreeMap<u32, MemberPhases>,
}

/// A watch under way; [`StepWatch::stop`] ends it.
pub struct StepWatch(Polling<StepPhases>);

/// Member id of a member pod named `<ensemble>-<id>`.
fn member_id(pod: &Pod) -> Option<u32> {
    pod.name_any().rsplit_once('-')?.1.parse().ok()
}

fn condition(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

fn running(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        })
}

/// The live member pods' ids, and the ids `status.members` shows voting.
async fn look(ensembles: &Api<ZkEnsemble>, pods: &Api<Pod>, name: &str) -> Result<Looked> {
    let zk = ensembles
        .get(name)
        .await
        .map_err(kube_err("get ZkEnsemble"))?;
    let selector = zk_operator::resources::meta::selector_string(&zk);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_err("list pods"))?;
    let voting = zk
        .status
        .iter()
        .flat_map(|s| &s.members)
        .filter(|m| m.voting)
        .map(|m| m.id)
        .collect();
    let pods = list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| Some((member_id(&p)?, p)))
        .collect();
    Ok(Looked { pods, voting })
}

struct Looked {
    pods: BTreeMap<u32, Pod>,
    voting: BTreeSet<u32>,
}

impl StepPhases {
    fn record(&mut self, looked: &Looked, now: Instant) {
        let first = |at: &mut Option<Instant>, seen: bool| {
            if seen && at.is_none() {
                *at = Some(now);
            }
        };
        for (&id, pod) in &looked.pods {
            if self.pods_before.contains(&id) {
                continue;
            }
            let member = self.members.entry(id).or_default();
            first(&mut member.created, true);
            first(&mut member.scheduled, condition(pod, "PodScheduled"));
            first(&mut member.started, running(pod));
            first(&mut member.ready, condition(pod, "Ready"));
        }
        for &id in looked.voting.difference(&self.voters_before) {
            first(&mut self.members.entry(id).or_default().voting, true);
        }
        for &id in self.voters_before.difference(&looked.voting) {
            first(&mut self.members.entry(id).or_default().removed, true);
        }
        for &id in &self.pods_before {
            if !looked.pods.contains_key(&id) {
                first(&mut self.members.entry(id).or_default().gone, true);
            }
        }
    }
}

impl StepWatch {
    /// Starts watching the `ZkEnsemble` `name` and its member pods; what is seen first is the state before the step.
    pub async fn start(ensembles: Api<ZkEnsemble>, pods: Api<Pod>, name: String) -> Result<Self> {
        let before = look(&ensembles, &pods, &name).await?;
        let phases = StepPhases {
            started: Instant::now(),
            voters_before: before.voting,
            pods_before: before.pods.into_keys().collect(),
            members: BTreeMap::new(),
        };
        Ok(Self(Polling::start(phases, POLL, move |mut phases| {
            let (ensembles, pods, name) = (ensembles.clone(), pods.clone(), name.clone());
            async move {
                let looked = look(&ensembles, &pods, &name).await?;
                phases.record(&looked, Instant::now());
                Ok(phases)
            }
        })))
    }

    /// Stops watching and returns what was seen.
    pub async fn stop(self) -> Result<StepPhases> {
        self.0.stop().await
    }
}

impl fmt::Display for StepPhases {
    /// One line per member: each phase seen, in seconds from the start of the watch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, m) in &self.members {
            write!(f, "member {id}:")?;
            for (label, at) in [
                ("pod created", m.created),
                ("scheduled", m.scheduled),
                ("container running", m.started),
                ("Ready", m.ready),
                ("voting", m.voting),
                ("removed from the voters", m.removed),
                ("pod gone", m.gone),
            ] {
                if let Some(at) = at {
                    let secs = at.duration_since(self.started).as_secs_f64();
                    write!(f, " {label} {secs:.1} s;")?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
