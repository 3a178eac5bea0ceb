"""`make chaos`: the whole pipeline on a 3-broker cluster under kill -9, a broker loss and a store outage, counted
from the outside. Dev tooling, not part of the product or of `make test`."""
