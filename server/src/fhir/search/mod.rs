pub mod compile;
pub mod params;
