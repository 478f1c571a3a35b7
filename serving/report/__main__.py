"""Render the report from the current serving file and print its path.

python -m serving.report
"""

import sys
from pathlib import Path

from ingestion.config import serving_dir_from_env, warehouse_path_from_env
from serving.paths import SERVING_FILE
from serving.report import REPORT_DIR, build_report


def main() -> int:
    serving_dir = serving_dir_from_env(Path(warehouse_path_from_env()))
    try:
        report = build_report(serving_dir / SERVING_FILE, serving_dir / REPORT_DIR)
    except FileNotFoundError as error:
        print(f"error: {error} (run `make run` first)", file=sys.stderr)
        return 1
    print(report.path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
