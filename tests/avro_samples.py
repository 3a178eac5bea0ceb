"""Random records of an Avro schema that are the same on every run (fastavro's generator, seeded)."""

from __future__ import annotations

import random
from typing import Any

from fastavro.utils import generate_many


def generated_records(schema: Any, count: int, seed: int | str) -> list[Any]:
    """`count` records of `schema` drawn with `seed`; the global generator (generate_many's) is left as it was."""
    state = random.getstate()
    random.seed(seed)
    try:
        return list(generate_many(schema, count))
    finally:
        random.setstate(state)
