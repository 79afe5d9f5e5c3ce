"""Two-person reconstruction of frame windows: losses, the window optimiser, warm start."""
