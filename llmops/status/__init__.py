"""`llmops status`: what the cluster runs against what the current revision renders (pure: plain
dicts in)."""
