"""The run-config reference, generated from the schema in ``mcprop.interface.config``.

The schema is a set of frozen dataclasses gathered in ``RunSchema``: a field is a key, its
annotation the type, its default the default (none: required) and its metadata the ``Rule``
(bounds, choices, kind of text, unit). This module walks ``RunSchema`` and writes one table
per section, so the reference cannot drift from what the reader checks.

As a Sphinx extension it adds the directive ``config-reference``; run as a script it prints
the reStructuredText::

    python3 docs/_ext/config_reference.py
"""

import functools
import math
import operator
import types
from dataclasses import MISSING, fields, is_dataclass
from typing import Union, get_args, get_origin, get_type_hints

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from mcprop.interface import config as schema

#: Words for the scalar types of the schema.
SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _toml(value) -> str:
    """``value`` as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


def _optional(tp):
    """(the type without None, whether None is allowed)."""
    if get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp):
        rest = [arg for arg in get_args(tp) if arg is not type(None)]
        return (rest[0] if len(rest) == 1 else functools.reduce(operator.or_, rest)), True
    return tp, False


def _sections(tp) -> list[type]:
    """The section classes a key of type ``tp`` holds (empty for a scalar or a list of
    scalars)."""
    tp, _ = _optional(tp)
    if is_dataclass(tp):
        return [tp]
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _sections(args[0])
    if origin in (Union, types.UnionType):
        return [arg for arg in args if is_dataclass(arg)]
    return []


def type_text(tp, rule: schema.Rule) -> str:
    """A key's type in words: ``number``, ``list of 2 numbers``, ``path``..."""
    tp, _ = _optional(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_text(args[0], rule)}s"
        (item,) = set(args)
        return f"list of {len(args)} {type_text(item, rule)}s"
    if tp is str and rule.choices is None:
        return "path" if rule.text == "path" else "string"
    return SCALARS.get(tp, getattr(tp, "__name__", str(tp)))


def allowed_text(tp, rule: schema.Rule) -> str:
    """What the reader accepts beyond the type: choices, bounds and unit, kind of text,
    number of entries."""
    tp, optional = _optional(tp)
    parts = []
    origin, args = get_origin(tp), get_args(tp)
    scalar = tp
    if origin is tuple:
        scalar = args[0]
        if len(args) == 2 and args[1] is Ellipsis:
            parts.append(f"{rule.min_items} to {rule.max_items} entries")
    if scalar is bool:
        parts.append("``true`` or ``false``")
    elif rule.choices is not None:
        parts.append("one of " + ", ".join(f"``{choice}``" for choice in rule.choices))
    elif scalar in (int, float) and rule.low == rule.high:
        parts.append(f"exactly {rule.low:g}")
    elif scalar in (int, float) and (math.isfinite(rule.low) or math.isfinite(rule.high)):
        parts.append(f"in {rule.bounds_text()}")
    elif scalar in (int, float) and rule.unit:
        parts.append(rule.unit)
    elif scalar is str and rule.text == "path":
        parts.append("relative to the config's folder")
    elif scalar is str and rule.text == "folder":
        parts.append("relative to the config's folder; never a symlink")
    elif scalar is str:
        parts.append(schema.TEXT_KINDS[rule.text][1] + (" (or empty)" if rule.empty_ok else ""))
    if optional:
        parts.append("or absent")
    return "; ".join(parts)


def default_text(field) -> str:
    if field.default is MISSING:
        return "required"
    return "none" if field.default is None else f"``{_toml(field.default)}``"


def presence_text(field, tp, cls: type) -> str:
    """Whether a section of ``RunSchema`` must be given."""
    _, optional = _optional(tp)
    if optional:
        return ("The table may be absent: whether a run needs it depends on ``physics.model`` "
                "(a Z' model scans masses; a magnetic-moment run or a Standard-Model fit has "
                "none).")
    if get_origin(tp) is tuple:
        return (f"Optional: no ``[[{field.name}]]`` by default." if field.default == ()
                else f"A run has at least one ``[[{field.name}]]`` (of any kind).")
    if all(f.default is not MISSING for f in fields(cls)):
        return "The table may be absent: every key has a default."
    return "Required."


def _first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def section_lines(cls: type, title: str, presence: str = "") -> list[str]:
    """reStructuredText of one section: its title, docstring and a table of its keys."""
    lines = [title, "-" * len(title), "", _first_paragraph(cls.__doc__), ""]
    if presence:
        lines += [presence, ""]
    hints = get_type_hints(cls)
    rows = []
    for field in fields(cls):
        tp = hints[field.name]
        if _sections(tp):
            continue  # a nested section has its own table
        rule = field.metadata.get("rule", schema.Rule())
        rows.append((f"``{field.name}``", type_text(tp, rule), default_text(field),
                     allowed_text(tp, rule)))
    if rows:
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 22 16 16 46", "",
                  "   * - key", "     - type", "     - default", "     - allowed values"]
        for row in rows:
            lines += [f"   * - {row[0]}"] + [f"     - {cell}" for cell in row[1:]]
        lines.append("")
    return lines


def reference_lines() -> list[str]:
    """reStructuredText of the whole run-config schema, ``RunSchema`` and its sections."""
    lines = section_lines(schema.RunSchema, "Top level")
    hints = get_type_hints(schema.RunSchema)
    for field in fields(schema.RunSchema):
        tp = hints[field.name]
        header = f"[[{field.name}]]" if get_origin(tp) is tuple else f"[{field.name}]"
        for cls in _sections(tp):
            tagged = "kind" not in {f.name for f in fields(cls)} and hasattr(cls, "kind")
            title = f'{header} kind = "{cls.kind}"' if tagged else header
            lines += section_lines(cls, title, presence_text(field, tp, cls))
    return lines


class ConfigReference(SphinxDirective):
    """``.. config-reference::``: the tables of :func:`reference_lines`."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(schema.__file__)
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(reference_lines(), source="RunSchema"), 0,
                                container, match_titles=True)
        return container.children


def setup(app):
    app.add_directive("config-reference", ConfigReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print("\n".join(reference_lines()))
