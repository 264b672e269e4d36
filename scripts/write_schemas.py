"""Write the JSON Schemas of a run config and of a prior file to docs/schemas/.

The schemas are generated from the pydantic models that read them
(:class:`mcprop.interface.schema.RunSchema`, :class:`mcprop.inference.priors.PriorFileSchema`)
and named by their schema version, e.g. ``run-config-v1.schema.json``. The tests fail when
the files checked in differ from what this script writes (tests/test_schemas.py)::

    python3 scripts/write_schemas.py            # write
    python3 scripts/write_schemas.py --check    # exit 1 if a file is missing or differs
"""

import argparse
import json
import sys
from pathlib import Path

from mcprop.inference import priors
from mcprop.interface import schema

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schemas() -> dict[str, str]:
    """The text of each schema file, by file name."""
    documents = {
        f"run-config-v{schema.SCHEMA_VERSION}.schema.json":
            ("mcprop run config", schema.RunSchema.model_json_schema()),
        f"prior-file-v{priors.SCHEMA_VERSION}.schema.json":
            ("mcprop prior file", priors.PriorFileSchema.model_json_schema()),
    }
    return {name: json.dumps({"$schema": DRAFT, **body, "title": title}, indent=2,
                             sort_keys=False) + "\n"
            for name, (title, body) in documents.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in docs/schemas/ instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in schemas().items():
        path = FOLDER / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python3 scripts/write_schemas.py)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
