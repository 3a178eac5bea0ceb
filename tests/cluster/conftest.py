"""Cluster tests: a secured broker (SASL_SSL, SCRAM, ACLs) and two replicas of each consumer, run by
`make test-cluster` (apart from `make test`, which they would push past its time budget); CI runs both."""
