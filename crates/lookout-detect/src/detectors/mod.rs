//! The detector algorithms, one module each.

pub mod changepoint;
pub mod discord;
pub mod ewma;
pub mod hst;
pub mod iforest;
pub mod knn;
pub mod pca;
pub mod rcf;
pub mod robust_z;
pub mod seasonal;
pub mod usage;
