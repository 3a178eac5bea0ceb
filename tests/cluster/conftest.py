"""Cluster tests, run by `make test-cluster` apart from `make test` (they would push it past its time budget; CI runs
both): a secured broker (SASL_SSL, SCRAM, ACLs), two replicas of each consumer, and the Confluent wire format
against a real Schema Registry (built once per machine by `make schema-registry`)."""
