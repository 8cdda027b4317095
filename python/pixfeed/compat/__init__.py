"""Drop-in APIs of other libraries on pixfeed's kernels (imported on use)."""
