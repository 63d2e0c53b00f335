//! Networks for reconstruction (candle): the Noise2Noise U-Net, losses, optimiser schedules
//! and self-describing safetensors checkpoints. Knows nothing of MRI or files beyond its own
//! checkpoints. The networks arrive with the Noise2Noise training issue.
