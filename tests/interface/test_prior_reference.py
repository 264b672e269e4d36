"""The generated prior-file reference (docs/_ext/prior_reference.py) lists every parameter of
the registry with its unit and every prior family with the keys its reader requires."""

import sys
from dataclasses import fields
from pathlib import Path

from mcprop.inference.distributions import FAMILIES
from mcprop.physics.parameters import PARAMETERS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import prior_reference  # noqa: E402


def test_every_parameter_and_family_is_documented():
    text = "\n".join(prior_reference.reference_lines())
    for name, parameter in PARAMETERS.items():
        row = text.split(f"   * - ``{name}``\n", 1)[1].split("\n", 1)[0]
        assert row == f"     - {parameter.unit or 'none'}", name
    for family, cls in FAMILIES.items():
        section = text.split(f'family = "{family}"\n', 1)[1].split('family = "', 1)[0]
        for f in fields(cls):
            assert f"``{f.name}``" in section, (family, f.name)
