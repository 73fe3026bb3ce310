"""The `llmops` command line, on click: main.py is the group (commands imported only when one runs),
one module per command (a click command in front of a keyword-only handler returning the exit code),
options.py what several commands share."""
