//! Any bytes as SASL input: the text of a JAAS login file, and a client's SASL packets fed to a
//! DIGEST-MD5 exchange (the empty first token, then the input split at its first NUL into the
//! packets that follow).
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use zk_proto::{Record, SaslToken};
use zk_server::sasl::jaas::JaasConfig;
use zk_server::sasl::{SaslConfig, SaslExchange, SaslLogin};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(config) = JaasConfig::parse(text, &|name| (name == "x").then(String::new))
    {
        for section in &config.sections {
            assert!(config.section(&section.name).is_some());
        }
    }
    let config = SaslConfig {
        login: Some(SaslLogin::Digest(Arc::new(BTreeMap::from([(
            "bob".to_string(),
            "pw".to_string(),
        )])))),
        ..SaslConfig::default()
    };
    let mut exchange = SaslExchange::default();
    let first = SaslToken {
        token: Some(Vec::new()),
    }
    .to_bytes();
    assert!(exchange.answer(&config, &first).is_ok_and(|r| r.err == 0));
    for part in data.splitn(2, |b| *b == 0) {
        let token = SaslToken {
            token: Some(part.to_vec()),
        }
        .to_bytes();
        if let Ok(reply) = exchange.answer(&config, &token) {
            assert!(
                reply.ids.is_empty(),
                "authenticated without the password's digest"
            );
        }
        let _ = exchange.answer(&config, part);
    }
});
