"""Capacity arithmetic: what a model needs (weights, KV cache, training state) against the memory it
gets.

Pure data and arithmetic shared by the capacity rules (`compiler/check/capacity.py`,
`compiler/check/training_capacity.py`) and `llmops explain`, so both always show the same numbers.
"""
