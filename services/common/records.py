"""The base of the typed Avro records (services/common/payloads): built from and turned into codec records."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

Convert = Callable[[Any], Any]


class Record:
    """A frozen dataclass mirroring one Avro record: arrays are tuples, nested records are Records."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # every subclass is a dataclass

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        """Build from the codec's (or a test's) mapping; a field the schema does not have is refused."""
        if isinstance(record, cls):
            return record
        if not isinstance(record, Mapping):
            raise ValueError(f"{cls.__name__} needs a mapping of its fields, not {type(record).__name__}")
        converters = _converters(cls)
        unknown = sorted(set(record) - set(converters))
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {', '.join(unknown)}")
        try:
            return cls(**{name: converters[name](value) for name, value in record.items()})
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"{cls.__name__}: {exc}") from exc

    def to_record(self) -> dict[str, Any]:
        """The mapping the codec writes: nested records as mappings, arrays as lists."""
        return {item.name: _plain(getattr(self, item.name)) for item in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_record()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


_CONVERTERS: dict[type[Record], dict[str, Convert]] = {}


def _converters(cls: type[Record]) -> dict[str, Convert]:
    """How to build each field of the class from a codec value, worked out once per class from its hints."""
    if cls not in _CONVERTERS:
        hints = typing.get_type_hints(cls)
        _CONVERTERS[cls] = {item.name: _converter(hints[item.name]) for item in dataclasses.fields(cls)}
    return _CONVERTERS[cls]


def _converter(hint: Any) -> Convert:
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        inner = _converter(next(arg for arg in typing.get_args(hint) if arg is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item = _converter(typing.get_args(hint)[0])
        return lambda value: tuple(item(each) for each in value)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_record
    if hint is bytes:
        return lambda value: bytes(value) if isinstance(value, bytearray | memoryview) else value
    return lambda value: value
