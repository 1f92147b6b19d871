//! Engine tests by state.
