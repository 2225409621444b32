"""Model instances from plain SQL rows, for the few queries asked on every request.

Building an ORM query costs more than running it when the query is small and asked
on every call (the bearer token of each API call, the products of each checkout).
:class:`Columns` names a model's columns once; a hand-written query selects them, and
:meth:`Columns.load` turns its values into an instance the way the ORM does (the
database backend's converters applied, so SQLite's text dates and numbers come back as
``datetime`` and ``Decimal``; fields not selected load on first access, as with
``.only()``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


class Columns(Generic[M]):
    """Some fields of a model (by attribute name: ``seller_id``), or all of them."""

    def __init__(self, model: type[M], fields: Sequence[str] | None = None) -> None:
        self.model = model
        self.fields = tuple(fields or [f.attname for f in model._meta.concrete_fields])
        self._converters: dict[str, list[list[Callable[..., Any]]]] = {}

    def sql(self, alias: str) -> str:
        """The select list, each column qualified by the table's alias in the query."""
        return ", ".join(
            f'{alias}."{self.model._meta.get_field(name).column}"'
            for name in self.fields
        )

    def __len__(self) -> int:
        return len(self.fields)

    def load(self, values: Sequence[object]) -> M:
        """An instance from the values of :meth:`sql`'s columns, in that order."""
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = self._converters[connection.vendor] = [
                self._for(name) for name in self.fields
            ]
        row = [
            _convert(value, chain) if chain and value is not None else value
            for value, chain in zip(values, converters, strict=True)
        ]
        return self.model.from_db(connection.alias, self.fields, row)

    def _for(self, name: str) -> list[Callable[..., Any]]:
        field = self.model._meta.get_field(name)
        column = field.get_col(self.model._meta.db_table)  # type: ignore[union-attr]
        chain = [
            *connection.ops.get_db_converters(column),
            *field.get_db_converters(connection),  # type: ignore[union-attr]
        ]
        return [lambda value, c=c, col=column: c(value, col, connection) for c in chain]


def _convert(value: object, chain: list[Callable[..., Any]]) -> object:
    for converter in chain:
        value = converter(value)
    return value
