"""Policy payloads, resolution and compilation: pure functions, no I/O."""
