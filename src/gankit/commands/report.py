"""``gankit report``: write a run's self-contained HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.commands import Verb
from gankit.outputs import output_file

EXAMPLES = """examples:
  gankit report runs/ring                  # writes runs/ring/report.html
  gankit report runs/ring --out ring.html"""


def arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("run", help="run directory")
    report.add_argument("--out", help="output file (default RUN/report.html)")


def run(args: argparse.Namespace) -> int:
    out = output_file(args.out, {".html", ".htm"}) if args.out else None

    from gankit.report.html import write_report

    print(f"wrote {write_report(Path(args.run), out)}")
    return 0


VERB = Verb("report", "Write a run's self-contained HTML report (RUN/report.html).", EXAMPLES, arguments, run)
