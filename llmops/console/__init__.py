"""The read-only web console `llmops proxy` serves at `/console/`: the estate, its health, its
experiments and a chat playground, rendered on the server from the same code as the CLI."""
