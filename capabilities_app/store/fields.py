"""Model fields of the store.

``DocumentJSONField`` keeps a JSON object's keys in the order they were written on
PostgreSQL too: Django's ``JSONField`` is ``jsonb`` there, which sorts keys, so an
export would reorder every ``with`` map and output ``properties`` block. It is stored
as ``json`` (text, kept as written) instead; nothing queries inside these values.
"""

from __future__ import annotations

from django.db import models

__all__ = [
    "DocumentJSONField",
]


class DocumentJSONField(models.JSONField):
    def db_type(self, connection) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor == "postgresql":
            from psycopg.types.json import Json

            if not prepared:
                value = self.get_prep_value(value)
            return Json(value)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        # psycopg decodes json columns itself (Django decodes jsonb ones): a string here
        # is a JSON string value, not JSON text to parse again.
        if connection.vendor == "postgresql":
            return value
        return super().from_db_value(value, expression, connection)
