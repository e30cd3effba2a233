//! Synthetic OT traffic: frames with valid checksums written as pcap.
