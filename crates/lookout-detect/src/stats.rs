//! Small streaming statistics shared by detectors and the combiner.
