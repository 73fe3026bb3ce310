"""The trainer the rendered training Jobs run (`llmops-train`, `python -m llmops.train`, the
`trainer` image).

It implements the contract of compiler/training_contract.py: it reads the job from the environment
and the mounted job.json, the dataset and the base model from their URIs (local paths, s3:// and
whatever else fsspec reads), trains with transformers (peft for LoRA adapters), and writes the model
or adapter with a metadata file to the job's output URI. Everything heavy (torch, transformers,
peft, fsspec) is imported only when it is needed, so a bad request or bad data is refused within a
second, before any model is loaded.
"""
