"""`python -m llmops.train`: the same entry point as the `llmops-train` script."""

from llmops.train.main import entrypoint

if __name__ == "__main__":
    entrypoint()
