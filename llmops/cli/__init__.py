"""The `llmops` command: one module per subcommand, each a plain function returning an exit code."""
