"""The base of every data map model: unknown keys are errors (no silent typos) and a loaded map never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
