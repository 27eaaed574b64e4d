//! The float net and how it is trained: the net and its gradients, the sparse training step
//! and the fork-join helper thread it runs on, optimisers, the trainer, named presets, the
//! compiled hidden widths, and float checkpoints.

pub mod checkpoint;
pub mod describe;
pub mod fork_join;
pub mod gradcheck;
pub mod hidden_widths;
pub mod net;
pub mod optimizer;
pub mod presets;
pub mod run;
pub mod sparse_step;
pub mod trainer;
