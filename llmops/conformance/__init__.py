"""Conformance: rendered Kubernetes objects checked against the schemas the API server would use.

Custom resources (KServe, Argo CD, Kubeflow Trainer) are checked against the upstream CRDs vendored,
unmodified, in the top-level `conformance/` folder (`sources.json` says where each file came from);
built-in kinds against the OpenAPI schemas shipped by the `kubernetes-validate` package. Both are
checked strictly, as the API server's `fieldValidation=Strict` does: an unknown field is an error.
`jsonschema` and `kubernetes-validate` are imported only when something is checked (extra
`conform`).
"""
