//! Any text as configuration: `zoo.cfg`/properties, a dynamic file or `/zookeeper/config`, each
//! `server.N` spec, and JVM flags (`SERVER_JVMFLAGS`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_server::config::{Membership, ServerSpec, jvm_flags, properties};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entries = properties::parse(text);
    if let Ok(membership) = Membership::from_entries(&entries) {
        let _ = membership.config_text();
        let _ = membership.dynamic_file_text();
    }
    for (key, value) in &entries {
        if let Some(id) = key.strip_prefix("server.").and_then(|id| id.parse().ok())
            && let Ok(spec) = ServerSpec::parse(id, value)
        {
            let rendered = spec.render();
            assert!(
                ServerSpec::parse(id, &rendered).is_ok(),
                "{rendered} does not parse"
            );
        }
    }
    if let Ok(membership) = Membership::from_config_text(text) {
        let _ = membership.listed_ids();
    }
    let _ = jvm_flags::parse(text);
});
