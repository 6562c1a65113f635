//! strata-bench: data sets and candidate encoders for the benchmark binaries.
//!
//! Owns: the stored-value data sets ([`series`]: real Netdata child captures replayed
//! through strata's own ingest, and seeded synthetic streams) and the block encodings
//! compared against the dbengine codec ([`candidates`]). Nothing here is used by the daemon;
//! figures are printed by the binaries, never asserted against a machine's speed.

pub mod candidates;
pub mod series;
