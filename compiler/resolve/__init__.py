"""Resolution: environments after the `_shared` merge, and reference lookup."""
