"""Recognition as the running bank uses it: the synchronous station and the camera worker."""
