//! strata-loadgen: a swarm of simulated Netdata children speaking the real streaming
//! protocol, with HdrHistogram latency reports. The crate is part of the workspace from
//! the start; its swarm, schedule and reports are built out in the loadgen issue.
