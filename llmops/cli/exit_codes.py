"""Exit codes shared by every command."""

OK = 0
FAILED = 1  # the input has errors (or, with --check, differs)
USAGE = 2  # bad arguments, unreadable repository, unknown environment
BUG = 3  # an unexpected exception: a bug in llmops
INTERRUPTED = 130
