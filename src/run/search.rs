//! `threeway search`: placeholder.
use super::RunError;
use crate::cli::SearchArgs;
pub fn run(_a: &SearchArgs) -> Result<i32, RunError> {
    Err(RunError::usage("todo"))
}
