//! Float checkpoint -> int8 model file (owned by the model-format work).
