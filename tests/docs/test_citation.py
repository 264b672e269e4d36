"""CITATION.cff and CHANGELOG.md: readable, complete, and at the package's version."""

import re
import tomllib
from pathlib import Path

import yaml

import mcprop

ROOT = Path(__file__).resolve().parents[2]
#: Keys CFF 1.2.0 requires (https://github.com/citation-file-format/citation-file-format,
#: schema.json "required").
CFF_REQUIRED = ("cff-version", "message", "title", "authors")


def test_citation_file_is_cff_1_2_0_at_the_package_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    missing = [key for key in CFF_REQUIRED if key not in citation]
    assert not missing, f"CITATION.cff lacks {missing}"
    assert citation["cff-version"] == "1.2.0"
    assert citation["authors"] and all("name" in a or "family-names" in a
                                       for a in citation["authors"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert str(citation["version"]) == project["version"] == mcprop.__version__
    assert citation["license"] == project["license"]


def test_changelog_has_unreleased_then_the_package_version():
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"),
                          flags=re.MULTILINE)
    assert headings[:2] == ["Unreleased", mcprop.__version__]
