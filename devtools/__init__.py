"""Development tooling kept apart from the product: the local stack, its infrastructure and the demo company."""
