"""Sphinx configuration of the mcprop documentation.

Build (warnings are errors; the tutorials are executed)::

    python3 -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import sys
from pathlib import Path

# The package is the installed one (``pip install -e ".[docs]"``), as in the executed
# notebooks; the local extensions live in _ext/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

import mcprop  # noqa: E402

project = "mcprop"
author = "the mcprop authors"
copyright = "2026, the mcprop authors"
release = mcprop.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "myst_nb",
    "config_reference",
    "prior_reference",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "jupyter_execute"]

# MyST: anchors for the headings of the physics page and the changelog.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks are stored without outputs and executed on every build; an error fails it.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# API reference: numpy-style docstrings, members in source order, signatures without the
# module path.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_typehints_format = "short"
add_module_names = False

html_theme = "furo"
html_title = f"mcprop {release}"
html_static_path = []
