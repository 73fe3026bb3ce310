"""Facts about the Kubernetes objects llmops renders (their names, KServe's releases, default pod
resources), shared by check, capacity and render, so `validate` measures what `render` creates."""
