"""`python -m bench <name> [args]` runs bench/<name>.py."""

import runpy
import sys
from pathlib import Path

BENCHMARKS = sorted(
    path.stem for path in Path(__file__).parent.glob("*.py") if not path.stem.startswith("_")
)

if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
    sys.exit(f"usage: python -m bench {{{'|'.join(BENCHMARKS)}}} [options]")
name = sys.argv.pop(1)
sys.argv[0] = f"bench/{name}.py"
runpy.run_module(f"bench.{name}", run_name="__main__")
