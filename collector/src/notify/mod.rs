//! Notifications: every new alert goes to the configured sinks (a webhook,
//! syslog) at least once, through a durable outbox in the store. The
//! analysis calls [`enqueue`] in the transaction that stores an alert; the
//! deliverer sends queued notifications from its own connection.

mod outbox;

pub use outbox::{create_tables, enqueue, MAX_PAYLOAD_BYTES, RETAIN_US};
