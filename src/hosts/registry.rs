//! (being written)
#[derive(Debug, Default)]
pub struct HostRegistry {}
