"""The market report: a self-contained HTML page of charts read from the serving file."""

from serving.paths import REPORT_DIR, REPORT_FILE
from serving.report.build import Report, build_report

__all__ = ["REPORT_DIR", "REPORT_FILE", "Report", "build_report"]
