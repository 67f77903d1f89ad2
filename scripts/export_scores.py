"""Export a scoring run as .xlsx or .csv for officials, through the HTTP API.

    .venv/bin/python scripts/export_scores.py 2024 scores-2024.xlsx [--url URL] [--run-id ID] [--token JWT]

Without --run-id: the latest run for a national admin token, the published run without a
token (--public). Without --token, a national-admin token is signed with the local secret
(env NAVI_JWT_SECRET, default navi-local-dev-secret), which only the local stage accepts;
on a deployed stage pass a real national admin's token.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from pathlib import Path

import requests

# Run as `python scripts/export_scores.py`: the repository root holds local_stack.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chalicelib.core.spreadsheets import XLSX_TYPE  # noqa: E402
from local_stack.tokens import LOCAL_JWT_SECRET  # noqa: E402
from local_stack.tokens import token as local_token


def export(url: str, cycle: str, path: str, run_id: str | None = None, token: str | None = None) -> int:
    """Write the export to `path` (format from its extension); returns the number of bytes."""
    fmt = "xlsx" if path.endswith(".xlsx") else "csv"
    headers = {"Accept": XLSX_TYPE if fmt == "xlsx" else "text/csv"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    query = f"?run_id={urllib.parse.quote(run_id)}" if run_id else ""
    answer = requests.get(
        f"{url.rstrip('/')}/cycles/{urllib.parse.quote(cycle)}/scores.{fmt}{query}",
        headers=headers,
        timeout=120,
    )
    if answer.status_code != 200:
        raise SystemExit(f"export failed: HTTP {answer.status_code}: {answer.text[:300]}")
    with open(path, "wb") as fh:
        fh.write(answer.content)
    return len(answer.content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cycle")
    parser.add_argument("path", help="output file; .xlsx for a workbook, anything else for CSV")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--run-id")
    parser.add_argument("--token", help="a national admin's bearer token (default: a locally signed one)")
    parser.add_argument("--public", action="store_true", help="no token: the published run only")
    args = parser.parse_args(argv)
    token = args.token
    if token is None and not args.public:
        token = local_token(
            "national_admin",
            sub="export-operator",
            ttl=600,
            secret=os.environ.get("NAVI_JWT_SECRET", LOCAL_JWT_SECRET),
        )
    size = export(args.url, args.cycle, args.path, args.run_id, token)
    print(f"wrote {args.path} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
