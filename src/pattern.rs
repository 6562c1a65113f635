//! Netdata simple patterns (being written).
