//! The protocols' logs by path, from the descriptors the engine declares.

use osect_wire::protocol::{LogInfo, ProtocolInfo};
use std::collections::HashMap;

pub struct Registry {
    logs: HashMap<&'static str, (&'static ProtocolInfo, &'static LogInfo)>,
}

impl Registry {
    pub fn new(protocols: &[&'static ProtocolInfo]) -> Registry {
        let mut logs = HashMap::new();
        for p in protocols {
            for l in p.logs {
                logs.insert(l.schema.path, (*p, l));
            }
        }
        Registry { logs }
    }

    /// The protocol and log a row's path belongs to. Folded rows keep their
    /// log's path, so they are found too.
    pub fn log(&self, path: &str) -> Option<(&'static ProtocolInfo, &'static LogInfo)> {
        self.logs.get(path).copied()
    }
}
