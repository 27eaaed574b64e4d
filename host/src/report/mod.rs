//! What a run leaves behind: the run folder (checkpoint, int8 model, metrics.json) and its
//! PNG pictures; and the training with a progress bar that writes it.

pub mod pictures;
pub mod run_folder;
pub mod training;
