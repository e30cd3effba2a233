//! `osect-agent selftest`: connect to the collector with the device's
//! identity, send one small batch, wait for the acknowledgement. The
//! provisioning station runs it before a device leaves the factory.
//!
//! The test batch has sequence number 0 (real batches start at 1) and no
//! records; the collector keeps the latest one per device key, so the test
//! can run again at any time.

use crate::config::Config;
use crate::uplink::{self, tls, UplinkError};
use osect_wire::batch::{self, Batch, Header, Reply};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    #[error(transparent)]
    Uplink(#[from] UplinkError),
    /// The collector answered, but not with "stored".
    #[error("collector answered {0:?}")]
    Refused(Reply),
    #[error("encoding the test batch: {0}")]
    Encode(#[from] batch::EncodeError),
    #[error("runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Returns the round-trip time of the test batch.
pub fn selftest(cfg: &Config, timeout: Duration) -> Result<Duration, SelftestError> {
    let b = Batch {
        header: Header {
            device_id: cfg.device.id.clone(),
            site: cfg.device.site.clone().unwrap_or_default(),
            seq: 0,
            agent_version: env!("CARGO_PKG_VERSION").into(),
            ..Header::default()
        },
        records: Vec::new(),
    };
    let bytes = batch::encode(
        &b,
        cfg.batch.zstd_level,
        batch::dictionary(cfg.batch.dictionary),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = tls::client_config(&cfg.uplink).map_err(UplinkError::from)?;
        let t0 = Instant::now();
        let link = tokio::time::timeout(timeout, uplink::connect(&cfg.uplink, &client))
            .await
            .map_err(|_| UplinkError::Timeout(timeout))??;
        let reply = uplink::send_batch(&link.conn, &bytes, timeout).await?;
        link.conn.close(0u32.into(), b"selftest done");
        match reply {
            Reply::Stored => Ok(t0.elapsed()),
            other => Err(SelftestError::Refused(other)),
        }
    })
}
