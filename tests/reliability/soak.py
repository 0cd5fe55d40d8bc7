"""The soak: the fault scenario of `test_faults.py`, for as long as asked, then a summary.

    scripts/soak --minutes 10

Exits 1 when any write acknowledged was lost or stored twice, when a response showed
another database's data, when a 5xx (or a dropped connection) came with no fault in
progress, when an error was not a 503 problem+json with Retry-After, or when a database
was left pending.
"""

import argparse
import asyncio
import sys
import time

from rich.console import Console
from rich.table import Table

from tests.utils.faults import Report, scenario

console = Console()


def table(report: Report) -> Table:
    summary = Table(title=f"Soak: {report.seconds / 60:.1f} minutes", show_header=False)
    summary.add_column("what")
    summary.add_column("count", justify="right")
    summary.add_row("requests", str(report.requests))
    for status, count in sorted(report.statuses.items()):
        if not status.startswith("2"):
            summary.add_row(f"  errors: {status}", str(count))
    for kind, count in sorted(report.faults.items()):
        seconds = report.fault_seconds.get(kind, 0.0)
        summary.add_row(f"faults: {kind}", f"{count} ({seconds:.0f} s)")
    summary.add_row("writes acknowledged", str(len(report.acknowledged)))
    found = sum(1 for write in report.acknowledged if report.found[write.name])
    summary.add_row("acknowledged writes found", str(found))
    summary.add_row(
        "writes given up (never acknowledged)", str(len(report.writes) - len(report.acknowledged))
    )
    for name, value in (
        ("lost writes", report.lost),
        ("duplicates", report.duplicates),
        ("cross-tenant responses", report.cross_tenant),
        ("5xx outside injected outages", report.outside_outages),
        ("other bad error answers", len(report.bad_answers) - report.outside_outages),
        ("databases not ready at the end", report.stuck_databases),
    ):
        summary.add_row(name, f"[{'red' if value else 'green'}]{value}[/]")
    summary.add_row("recovered with no manual step", "yes" if report.recovered else "[red]no[/]")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent load clients")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed")
    args = parser.parse_args(argv)
    console.print(f"soak: {args.minutes} min, {args.clients} clients, seed {args.seed}")
    with scenario(args.minutes * 60, clients=args.clients, seed=args.seed) as run:
        report = asyncio.run(run.run(on_fault=lambda kind: console.log(f"fault: {kind}")))
    console.print(table(report))
    for line in report.server_errors[:5] if report.bad_answers else ():
        console.print(line, markup=False, style="yellow")
    for answer in report.bad_answers[:20]:
        console.print(answer, markup=False, style="red")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
