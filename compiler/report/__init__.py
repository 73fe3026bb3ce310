"""Output formats for diagnostics: text, json, github, sarif, junit."""
