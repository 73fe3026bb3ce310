"""Git at the edge: estates read from commits, endpoint history, the approval audit, and the plans
behind `llmops rollback` and `llmops promote` (GitPython, imported only by the commands that need
it)."""
