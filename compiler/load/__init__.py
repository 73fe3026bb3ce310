"""Reading repositories: files, bytes, YAML, positions."""
