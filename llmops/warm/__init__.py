"""What the warm server (llmops/cli/warm_server.py) and the commands that use it share: the
socket's protocol (wire), who a process is (identity), the client a command runs before the
command line is imported (client), and the manifest files the server keeps (memo). Opt-in:
``$LLMOPS_SERVER``."""
