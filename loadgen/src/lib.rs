//! strata-loadgen (being written).
