"""What is reported: the environments' rule settings and the manifests' inline suppressions, applied
to what the checks found (the checks never see them)."""
