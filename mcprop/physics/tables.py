"""The CSV tables of package data (and of user files, once read by mcprop.files): the one
reader. Blank lines and comment lines (first non-blank character '#') are left out; the
first row left is usually the header.

>>> csv_rows("# source: a comment\\nnh,counts\\n\\n92,3\\n93,5\\n")
[['nh', 'counts'], ['92', '3'], ['93', '5']]
"""

import csv
from importlib import resources


def data_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line of ``text`` that is neither blank nor a comment;
    numbers count from 1, for messages that name the line."""
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]


def csv_rows(text: str) -> list[list[str]]:
    """The rows (lists of fields) of CSV ``text``, without blank and comment lines."""
    return list(csv.reader(line for _, line in data_lines(text)))


def package_csv(name: str, package: str = "mcprop.physics") -> list[list[str]]:
    """The rows of the package-data CSV file ``data/<name>`` of ``package``."""
    return csv_rows((resources.files(package) / "data" / name).read_text())
