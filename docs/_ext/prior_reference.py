"""The prior-file reference, generated from the JSON Schema of a prior file.

The schema is that of :class:`mcprop.inference.priors.PriorFileSchema`
(``model_json_schema()``, also checked in as ``docs/schemas/prior-file-v1.schema.json``):
the top-level keys, the parameter names a ``[parameters]`` table accepts (with their unit,
physical domain and group from the registry, :mod:`mcprop.physics.parameters`) and the keys
of each prior family. This module writes one table for each, so the reference cannot drift
from what the reader checks.

As a Sphinx extension it adds the directive ``prior-reference``; run as a script it prints
the reStructuredText::

    python3 docs/_ext/prior_reference.py
"""

import math

from config_reference import Reader, _first_paragraph, default_text, reference_directive

from mcprop.inference import priors
from mcprop.physics.parameters import PARAMETERS


def _table(widths: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A reStructuredText list-table."""
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in (header, *rows):
        lines += [f"   * - {row[0]}"] + [f"     - {cell}" for cell in row[1:]]
    return lines + [""]


def _domain_text(low: float, high: float, positive: bool) -> str:
    """``[low, high]`` with open infinite ends, ``(0, ...`` for a positive parameter."""
    left = "(" if positive or not math.isfinite(low) else "["
    right = "]" if math.isfinite(high) else ")"
    return f"{left}{low:g}, {high:g}{right}"


def reference_lines() -> list[str]:
    """reStructuredText of the prior-file schema: top level, parameters, families."""
    reader = Reader(priors.PriorFileSchema.model_json_schema())
    root = reader.root
    parameters = root["properties"]["parameters"]
    lines = ["Prior-file keys", "---------------", "",
             _first_paragraph(root.get("description")), ""]
    lines += _table("22 16 16 46", ("key", "type", "default", "allowed values"), [
        (f"``{key}``", reader.type_text(node), default_text(key, node, root),
         f"exactly ``{node['const']}``" if "const" in node else
         "a table of parameter = prior" if key == "parameters" else "one line of text")
        for key, node in root["properties"].items()])
    lines += ["Parameter names", "---------------", "",
              "The keys of ``[parameters]``: the parameters of the registry "
              "(``mcprop.physics.parameters``), with their units and physical domains; a "
              "prior's numbers are in the parameter's unit, and the prior is checked "
              "against the domain.", ""]
    lines += _table("34 18 24 24", ("name", "unit", "domain", "group"), [
        (f"``{name}``", PARAMETERS[name].unit or "none",
         _domain_text(*PARAMETERS[name].domain, PARAMETERS[name].positive),
         PARAMETERS[name].group)
        for name in parameters["propertyNames"]["enum"]])
    for option in parameters["additionalProperties"]["oneOf"]:
        family = reader.resolve(option)
        title = f'family = "{family["properties"]["family"]["const"]}"'
        lines += [title, "-" * len(title), "", _first_paragraph(family.get("description")), ""]
        lines += _table("30 20 50", ("key", "type", "default"), [
            (f"``{key}``", "text" if key == "source" else reader.type_text(node),
             default_text(key, node, family))
            for key, node in family["properties"].items() if key != "family"])
    return lines


#: ``.. prior-reference::``: the tables of :func:`reference_lines`.
PriorReference = reference_directive(reference_lines, "PriorFileSchema", priors)


def setup(app):
    app.add_directive("prior-reference", PriorReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print("\n".join(reference_lines()))
