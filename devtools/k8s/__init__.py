"""Tools for the Kubernetes manifests in deploy/k8s: rendering, offline validation, generated resources."""
