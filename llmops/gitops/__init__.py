"""Git at the edge: reading estates from commits (GitPython, imported only by the commands that need
it)."""
