//! What a failed scenario prints: the ensemble's status, the namespace's Events, the pods' states and the
//! operator's log tail.

use crate::command::kubectl;
use crate::operator;

/// A report on the ensemble `name` in `namespace`, for timeout and assertion messages.
pub async fn report(namespace: &str, name: &str) -> String {
    let zke = format!("zkensemble/{name}");
    let sections: [(&str, Vec<&str>); 4] = [
        (
            "ZkEnsemble status",
            vec!["get", &zke, "-n", namespace, "-o", "jsonpath={.status}"],
        ),
        (
            "Events",
            vec!["get", "events", "-n", namespace, "--sort-by=.lastTimestamp"],
        ),
        (
            "Pods",
            vec![
                "get",
                "pods",
                "-n",
                namespace,
                "-o",
                "custom-columns=NAME:.metadata.name,UID:.metadata.uid,PHASE:.status.phase,\
                 READY:.status.containerStatuses[0].ready,RESTARTS:.status.containerStatuses[0].restartCount",
            ],
        ),
        ("PVCs", vec!["get", "pvc", "-n", namespace]),
    ];
    let mut out = String::new();
    for (title, args) in sections {
        let text = kubectl(&args).await.unwrap_or_else(|e| format!("({e})"));
        out.push_str(&format!("---- {title}\n{text}\n"));
    }
    out.push_str(&format!(
        "---- operator log\n{}\n",
        operator::log_tail(40).await
    ));
    out
}
