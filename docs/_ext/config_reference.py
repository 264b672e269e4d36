"""The run-config reference, generated from the JSON Schema of the run config.

The schema is that of the pydantic models in ``mcprop.interface.schema``
(``RunSchema.model_json_schema()``, also checked in as
``docs/schemas/run-config-v1.schema.json``): one object per section, whose properties are
its keys with their type, bounds (``minimum``, ``exclusiveMaximum``... and ``unit``),
choices (``enum``), kind of text (``pattern`` and ``description``, ``format`` for paths) and
default. This module walks it and writes one table per section, so the reference cannot
drift from what the reader checks.

As a Sphinx extension it adds the directive ``config-reference``; run as a script it prints
the reStructuredText::

    python3 docs/_ext/config_reference.py
"""

import math
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from mcprop.interface import schema

#: Words for the scalar types of JSON Schema.
SCALARS = {"boolean": "boolean", "integer": "integer", "number": "number", "string": "string",
           "object": "table"}


def _toml(value: Any) -> str:
    """``value`` as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


class Reader:
    """The JSON Schema ``root`` with its ``$defs``."""

    def __init__(self, root: dict[str, Any]):
        self.root, self.defs = root, root.get("$defs", {})

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """``node`` with a ``$ref`` followed."""
        if "$ref" in node:
            return self.defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def optional(self, node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the node without its ``null`` alternative, whether null is allowed)."""
        options = node.get("anyOf", [])
        if {"type": "null"} in options:
            (rest,) = [option for option in options if option != {"type": "null"}]
            return self.resolve(rest), True
        return self.resolve(node), False

    def sections(self, node: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
        """The sections (objects with properties) a key holds, each with whether it is one
        of several chosen by ``kind``; empty for a scalar or a list of scalars."""
        node, _ = self.optional(node)
        if node.get("type") == "array" and "items" in node:
            return self.sections(node["items"])
        if "oneOf" in node:
            return [(self.resolve(option), True) for option in node["oneOf"]]
        return [(node, False)] if "properties" in node else []

    def type_text(self, node: dict[str, Any]) -> str:
        """A key's type in words: ``number``, ``list of 2 numbers``, ``path``..."""
        node, _ = self.optional(node)
        if node.get("type") == "array":
            if "prefixItems" in node:
                return (f"list of {len(node['prefixItems'])} "
                        f"{self.type_text(node['prefixItems'][0])}s")
            return f"list of {self.type_text(node['items'])}s"
        if node.get("format") == "path":
            return "path"
        if "patternProperties" in node:
            return "table"
        return SCALARS.get(node.get("type"), "value")

    def allowed_text(self, node: dict[str, Any]) -> str:
        """What the reader accepts beyond the type: choices, bounds and unit, kind of text,
        number of entries."""
        node, optional = self.optional(node)
        parts = []
        if node.get("type") == "array" and "items" in node:
            parts.append(f"{node.get('minItems', 0)} to {node['maxItems']} entries")
        if node.get("type") == "object" and "patternProperties" in node:  # name = value
            (values,) = node["patternProperties"].values()
            return "; ".join([f"name = {self.type_text(values)}, at most "
                              f"{node['maxProperties']} entries; names of "
                              f"{node['propertyNames']['description']}"]
                             + ["or absent"] * optional)
        scalar = self.resolve(node.get("items") or (node.get("prefixItems") or [node])[0])
        kind = scalar.get("type")
        if kind == "boolean":
            parts.append("``true`` or ``false``")
        elif "enum" in scalar:
            parts.append("one of " + ", ".join(f"``{choice}``" for choice in scalar["enum"]))
        elif kind in ("integer", "number"):
            parts.append(_bounds_text(scalar))
        elif scalar.get("format") == "path":
            parts.append("relative to the config's folder")
        elif scalar.get("format") == "folder":
            parts.append("relative to the config's folder; never a symlink")
        elif kind == "string":
            parts.append(scalar.get("description", ""))
        if optional:
            parts.append("or absent")
        return "; ".join(part for part in parts if part)


def _bounds_text(node: dict[str, Any]) -> str:
    """``in [low, high] unit``, ``exactly x``, or the unit alone."""
    low = node.get("minimum", node.get("exclusiveMinimum", -math.inf))
    high = node.get("maximum", node.get("exclusiveMaximum", math.inf))
    unit = node.get("unit", "")
    if low == high:
        return f"exactly {low:g}"
    if math.isfinite(low) or math.isfinite(high):
        return "in " + schema.interval_text(low, high, "exclusiveMinimum" in node,
                                            "exclusiveMaximum" in node, unit)
    return unit


def default_text(key: str, node: dict[str, Any], section: dict[str, Any]) -> str:
    if key in section.get("required", ()):
        return "required"
    node = node.get("default")
    return "none" if node is None else f"``{_toml(node)}``"


def presence_text(reader: Reader, key: str, node: dict[str, Any],
                  section: dict[str, Any]) -> str:
    """Whether a section of the run config must be given."""
    if reader.optional(node)[1]:
        return ("The table may be absent: whether a run needs it depends on ``physics.model`` "
                "(a Z' model scans masses; a magnetic-moment run or a Standard-Model fit has "
                "none).")
    if reader.resolve(node).get("type") == "array":
        return (f"Optional: no ``[[{key}]]`` by default." if node.get("default") == []
                else f"A run has at least one ``[[{key}]]`` (of any kind).")
    if not section.get("required"):
        return "The table may be absent: every key has a default."
    return "Required."


def _first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def section_lines(reader: Reader, section: dict[str, Any], title: str, presence: str = "",
                  tagged: bool = False) -> list[str]:
    """reStructuredText of one section: its title, description and a table of its keys
    (without the ``kind`` that chooses a ``tagged`` section)."""
    lines = [title, "-" * len(title), "", _first_paragraph(section.get("description")), ""]
    if presence:
        lines += [presence, ""]
    rows = []
    for key, node in section["properties"].items():
        if reader.sections(node) or (tagged and key == "kind"):
            continue  # a nested section has its own table
        rows.append((f"``{key}``", reader.type_text(node), default_text(key, node, section),
                     reader.allowed_text(node)))
    if rows:
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 22 16 16 46", "",
                  "   * - key", "     - type", "     - default", "     - allowed values"]
        for row in rows:
            lines += [f"   * - {row[0]}"] + [f"     - {cell}" for cell in row[1:]]
        lines.append("")
    return lines


def reference_lines() -> list[str]:
    """reStructuredText of the whole run-config schema: the top level and its sections."""
    reader = Reader(schema.RunSchema.model_json_schema())
    root = reader.root
    lines = section_lines(reader, root, "Top level")
    for key, node in root["properties"].items():
        header = (f"[[{key}]]" if reader.optional(node)[0].get("type") == "array"
                  else f"[{key}]")
        for section, tagged in reader.sections(node):
            kind = section["properties"]["kind"]["const"] if tagged else None
            title = f'{header} kind = "{kind}"' if tagged else header
            lines += section_lines(reader, section, title,
                                   presence_text(reader, key, node, section), tagged)
    return lines


def reference_directive(lines, source: str, module) -> type[SphinxDirective]:
    """A directive that parses the reStructuredText ``lines()`` (named ``source``), rebuilt
    when ``module`` changes."""

    class Reference(SphinxDirective):
        def run(self) -> list[nodes.Node]:
            self.env.note_dependency(module.__file__)
            container = nodes.section()
            container.document = self.state.document
            self.state.nested_parse(StringList(lines(), source=source), 0, container,
                                    match_titles=True)
            return container.children

    return Reference


#: ``.. config-reference::``: the tables of :func:`reference_lines`.
ConfigReference = reference_directive(reference_lines, "RunSchema", schema)


def setup(app):
    app.add_directive("config-reference", ConfigReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print("\n".join(reference_lines()))
