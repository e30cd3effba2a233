//! `osect-agent replay`: capture files in, log files out.
