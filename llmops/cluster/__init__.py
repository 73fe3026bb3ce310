"""The cluster edge: a Kubernetes API client built from a kubeconfig, and the reads `llmops status`
makes."""
