"""Checking JSON bodies against the OpenAPI document the way a client generated from it would:
JSON Schema 2020-12 (OpenAPI 3.1's dialect) with the document's own ``$ref``s, plus a stricter
rule the document itself leaves open on purpose: no field the description does not name."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:giving:openapi"


def pointer(*parts: str) -> str:
    """A JSON pointer into the document (``/`` and ``~`` escaped as RFC 6901 says)."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


class ApiSchema:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(BASE, resource)

    def validator(self, where: str) -> Draft202012Validator:
        """A validator for the schema at JSON pointer ``where`` in the document."""
        return Draft202012Validator(
            {"$ref": f"{BASE}#{where}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def component(self, name: str) -> str:
        return pointer("components", "schemas", name)

    def errors(self, value: Any, where: str) -> list[str]:
        """Schema violations and undeclared fields of ``value`` against the schema at ``where``."""
        found = [
            f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in self.validator(where).iter_errors(value)
        ]
        return found or self._undeclared(value, where, "$")

    def _at(self, where: str) -> Any:
        node: Any = self.document
        for part in where.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def _matching(self, value: Any, where: str) -> str:
        """The pointer of the schema that actually describes ``value``: $refs followed, and the
        branch of a oneOf/anyOf that ``value`` satisfies."""
        node = self._at(where)
        while "$ref" in node:
            where = node["$ref"].removeprefix("#")
            node = self._at(where)
        for combinator in ("oneOf", "anyOf"):
            for index in range(len(node.get(combinator, []))):
                branch = f"{where}/{combinator}/{index}"
                if self.validator(branch).is_valid(value):
                    return self._matching(value, branch)
        return where

    def _undeclared(self, value: Any, where: str, path: str) -> list[str]:
        where = self._matching(value, where)
        node = self._at(where)
        found: list[str] = []
        if isinstance(value, dict):
            properties = node.get("properties", {})
            for key, item in value.items():
                if key in properties:
                    sub = where + pointer("properties", key)
                elif isinstance(node.get("additionalProperties"), dict):
                    sub = f"{where}/additionalProperties"
                else:
                    found.append(f"{path}.{key}: not described in openapi.json")
                    continue
                found += self._undeclared(item, sub, f"{path}.{key}")
        elif isinstance(value, list):
            prefix = node.get("prefixItems", [])
            for index, item in enumerate(value):
                if index < len(prefix):
                    sub = f"{where}/prefixItems/{index}"
                elif isinstance(node.get("items"), dict):
                    sub = f"{where}/items"
                else:
                    continue
                found += self._undeclared(item, sub, f"{path}[{index}]")
        return found


def shape(value: Any) -> Any:
    """The value with every leaf replaced by its JSON type (lists by their first item's)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__
