"""Write the JSON Schema of AIPerf's profile_export_aiperf.json model; run with the Python of a venv holding aiperf.

    ~/.cache/rankperf/aiperf-0.13.0/bin/python scripts/aiperf_export_schema.py tests/fixtures/aiperf_0.13.0_export_schema.json

The schema is AIPerf 0.13.0's ``JsonExportData.model_json_schema(by_alias=False)``: field names as
AIPerf writes them (its config models also accept camelCase aliases, which rankperf never writes).
It holds what pydantic can express (types, enums, required keys, extra keys forbidden in
``input_config``); AIPerf's cross-field validators run only in the model itself (tests/aiperf_check.py).
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

EXPECTED_VERSION = "0.13.0"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: aiperf_export_schema.py OUT.json", file=sys.stderr)
        return 2
    version = importlib.metadata.version("aiperf")
    if version != EXPECTED_VERSION:
        print(f"aiperf {version} is installed; this schema is of aiperf {EXPECTED_VERSION}", file=sys.stderr)
        return 2
    from aiperf.common.models.export_models import JsonExportData

    schema = JsonExportData.model_json_schema(by_alias=False)
    schema["$comment"] = (f"aiperf=={version} aiperf.common.models.export_models.JsonExportData"
                          ".model_json_schema(by_alias=False), written by scripts/aiperf_export_schema.py")
    text = json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    Path(argv[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
