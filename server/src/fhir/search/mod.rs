pub mod compile;
pub mod include;
pub mod params;
