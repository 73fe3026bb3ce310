"""Benchmarks of `llmops validate` and the synthetic estates they run on."""
