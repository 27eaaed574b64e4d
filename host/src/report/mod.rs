//! What a run leaves behind: the run folder (checkpoint, int8 model, metrics.json) and its
//! PNG pictures.

pub mod pictures;
pub mod run_folder;
