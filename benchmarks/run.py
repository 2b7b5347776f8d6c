"""Run the benchmark suite: `python -m benchmarks.run` (or `python benchmarks/run.py`).

Prints the summary table and writes benchmarks/results.md, results.png and the summary table
between README.md's `<!-- bench:start -->` and `<!-- bench:end -->` markers (nothing else in
README.md). `--only 1,4` runs a subset and, unless `--write` is given, leaves the files of the
last full run alone. A README.md without both markers stops the run before it starts.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (
    _report,
    bench_adaptive,
    bench_cache_load,
    bench_decode,
    bench_fleet,
    bench_latency,
    bench_limiter,
    bench_memory,
    bench_overhead,
)
from benchmarks._common import Outcome

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"

# Grouped by what they need: benchmarks 2 and 3 share one slow server.
SUITE: list[tuple[tuple[str, ...], Callable[[], Outcome | list[Outcome]]]] = [
    (("1",), bench_overhead.run),
    (("2", "3"), bench_latency.run),
    (("4",), bench_decode.run),
    (("5",), bench_limiter.run),
    (("6",), bench_memory.run),
    (("7", "7b"), bench_adaptive.run),  # one run, both figures of adaptive pacing
    (("8",), bench_fleet.run),
    (("9",), bench_cache_load.run),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    ap.add_argument("--only", help="comma-separated benchmark numbers, e.g. 1,4")
    ap.add_argument("--write", action="store_true", help="write results even for a subset")
    ap.add_argument("--quick", action="store_true", help="shorter adaptive runs (7, 7b); no write")
    args = ap.parse_args(argv)
    bench_adaptive.QUICK = args.quick
    wanted = set(args.only.split(",")) if args.only else None
    write = (wanted is None or args.write) and not args.quick
    if write:
        try:  # before minutes of measuring, not after
            _report.readme_region(README.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"error: cannot write the benchmark block of {README}: {exc}", file=sys.stderr)
            return 2

    info = _report.machine()
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for keys, bench in SUITE:
        if wanted is not None and not wanted.intersection(keys):
            continue
        print(f"running {'+'.join(keys)} ({bench.__module__}) ...", flush=True)
        t0 = time.perf_counter()
        try:
            got = bench()
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            error = f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            got = [Outcome(key, bench.__module__, error, "-", "ERROR") for key in keys]
        for outcome in got if isinstance(got, list) else [got]:
            outcomes.append(outcome)
            print(f"  {outcome.key}. {outcome.status}: {outcome.measured}", flush=True)
        print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)

    print()
    print(_report.table(outcomes))
    print(
        f"\n{info['cores']} cores, {info['python']}, aiohttp {info['aiohttp']}, "
        f"msgspec {info['msgspec']}, {info['date']}; "
        f"suite took {time.perf_counter() - started:.0f} s"
    )
    if write:
        chart = HERE / "results.png"
        drawn = _report.png(outcomes, chart)
        md = _report.markdown(outcomes, info, chart.name if drawn else None)
        results = HERE / "results.md"
        results.write_text(md, encoding="utf-8")
        # Raises (ValueError) if the markers went missing during the run: loud, README untouched.
        text = _report.readme(
            README.read_text(encoding="utf-8"),
            outcomes,
            info,
            results.relative_to(README.parent).as_posix(),
        )
        README.write_text(text, encoding="utf-8")
        print(f"wrote {results}" + (f", {chart}" if drawn else "") + f" and the table in {README}")
    return 1 if any(o.status == "ERROR" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
