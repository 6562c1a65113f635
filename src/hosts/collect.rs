//! (being written)
#[derive(Debug, Default)]
pub struct ChartClock {}
#[derive(Debug, Default)]
pub struct DimState {}
