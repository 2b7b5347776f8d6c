"""The summary table (stdout), results.md, results.png and README.md's benchmark block, all from
the run's own Outcomes."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import Outcome

PACKAGES = ("aiohttp", "msgspec", "uvloop", "pydantic", "orjson", "aiolimiter")


def _load() -> str:
    # The machine may be shared: the load when the run began says how quiet it was.
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _revision() -> str:
    """The commit measured, and whether the SDK had uncommitted changes."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        # The fake under keyapi_async/testing is not what is measured.
        changed = git("status", "--porcelain", "--", "keyapi_async", ":!keyapi_async/testing")
    except OSError:  # no git
        return "unknown"
    if not commit:
        return "unknown"
    return f"{commit}" + (" + uncommitted SDK changes" if changed else "")


def machine() -> dict[str, str]:
    """Call at the start of the run: the date and load are the run's start."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "load": _load(),
        "revision": _revision(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **versions,
    }


def table(outcomes: Sequence[Outcome]) -> str:
    """Plain-text summary, columns padded to fit."""
    rows = [("#", "benchmark", "measured", "target", "result")]
    rows += [(o.key, o.title, o.measured, o.target, o.status) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_rows(outcomes: Sequence[Outcome]) -> list[str]:
    """The markdown summary table: results.md and README.md show the same rows."""
    lines = ["| # | benchmark | measured | target | result |", "| --- | --- | --- | --- | --- |"]
    for o in outcomes:
        key, title, measured, target = (_cell(x) for x in (o.key, o.title, o.measured, o.target))
        lines.append(f"| {key} | {title} | {measured} | {target} | **{o.status}** |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bare pipe would split the cell


README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def readme_region(text: str) -> tuple[int, int]:
    """Where README.md's benchmark block lies: (end of the start marker, start of the end
    marker). Raises ValueError unless each marker is there exactly once, on a line of its own,
    start first."""
    lines = text.splitlines()
    for marker in (README_START, README_END):
        found = sum(line.strip() == marker for line in lines)
        if found != 1 or text.count(marker) != 1:
            raise ValueError(
                f"README.md must hold {marker!r} exactly once on a line of its own "
                f"(found {text.count(marker)})"
            )
    start = text.index(README_START) + len(README_START)
    end = text.index(README_END)
    if end < start:
        raise ValueError(f"README.md: {README_END!r} comes before {README_START!r}")
    return start, end


def readme(text: str, outcomes: Sequence[Outcome], info: dict[str, str], results: str) -> str:
    """README.md's text with the block between the markers replaced; nothing else changes."""
    start, end = readme_region(text)
    block = [
        "",
        "",
        *summary_rows(outcomes),
        "",
        f"Measured {info['date']} on {info['cores']} cores, {info['platform']} (load average "
        f"at the start {info['load']}), code {info['revision']}, {info['python']}; every figure "
        f"and how it was measured: [{results}]({results}).",
        "",
    ]
    return text[:start] + "\n".join(block) + text[end:]


def markdown(outcomes: Sequence[Outcome], info: dict[str, str], chart: str | None) -> str:
    lines = [
        "# keyapi_async benchmarks",
        "",
        "Written by `python -m benchmarks.run` (`nox -s bench`): every figure below was measured "
        "in the run that wrote this file, and each ratio compares runs made side by side in it. "
        "FakeKeyAPI runs in its own process; rates and bursts are counted in its request log.",
        "",
        f"- date: {info['date']}; code: {info['revision']}",
        f"- machine: {info['cores']} cores, {info['platform']}; load average (1/5/15 min) at "
        f"the start: {info['load']}",
        f"- {info['python']}; " + ", ".join(f"{name} {info[name]}" for name in PACKAGES),
        "",
        *summary_rows(outcomes),
    ]
    missed = [o for o in outcomes if o.status == "MISS"]
    lines.append("")
    if missed:
        lines.append(
            "Missed: "
            + "; ".join(f"{o.key} ({o.measured}; target {o.target})" for o in missed)
            + ". The sections below hold the figures behind each result."
        )
    else:
        lines.append("Every benchmark that ran met its target.")
    if chart:
        lines += ["", f"![benchmark results]({chart})"]
    for o in outcomes:
        lines += ["", f"## {o.key}. {o.title}", "", f"Target: {o.target}. Result: **{o.status}**"]
        if o.status == "MISS":
            lines[-1] += f": measured {o.measured}."
        if o.details:
            lines += ["", *o.details]
    return "\n".join(lines) + "\n"


def png(outcomes: Sequence[Outcome], path: Path) -> bool:
    """One panel per chart (benchmark 5 has two); False if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    by_key = {o.key: o for o in outcomes}
    fig, axes = plt.subplots(2, 4, figsize=(21, 9.5))
    panels = [_overhead, _rates, _decode, _limiter_rate, _limiter_burst, _memory, _adaptive]
    panels.append(_fleet)
    for ax, draw in zip(axes.flat, panels, strict=False):
        try:
            draw(ax, by_key)
        except KeyError:  # that benchmark did not run or was skipped
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{draw.__name__.strip('_')}: not run", ha="center")
    fig.suptitle("keyapi_async benchmarks (measured side by side in one run)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _status(o: Outcome) -> str:
    return f"{o.key}. {o.status}"


def _bars(ax: Any, labels: Sequence[str], values: Sequence[float], **kw: Any) -> None:
    bars = ax.bar(labels, values, **kw)
    ax.bar_label(bars, fmt="%.3g", fontsize=8)


def _overhead(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["1"]
    per_page = o.chart["per_page"]
    loops = list(per_page)
    series = [("sdk", "SDK", "tab:blue"), ("floor", "floor", "tab:gray")]
    series.append(("traced", "floor + TraceConfig", "tab:olive"))
    width = 0.8 / len(series)
    for i, (kind, label, color) in enumerate(series):
        xs = [n + (i - 1) * width for n in range(len(loops))]
        bars = ax.bar(xs, [per_page[loop][kind] * 1e6 for loop in loops], width, label=label)
        for bar in bars:
            bar.set_color(color)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(
        range(len(loops)), [f"{loop}\nSDK/floor {o.chart['ratio'][loop]:.3f}" for loop in loops]
    )
    top = max(t[kind] for t in per_page.values() for kind, _, _ in series) * 1e6
    ax.set_ylim(0, top * 1.3)  # room for the legend above the bars
    ax.set_ylabel("µs per page (median)")
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    ax.set_title(f"{_status(o)}: SDK overhead, target SDK/floor <= 1.10")


def _rates(ax: Any, by_key: dict[str, Outcome]) -> None:
    paging = by_key["2"]
    labels = ["paging c=8", "sequential"]
    values = [paging.chart["rate"], paging.chart["sequential"]]
    fan_out = by_key.get("3")
    if fan_out is not None and fan_out.status != "SKIPPED":
        labels.append("fan-out c=8")
        values.append(fan_out.chart["rate"])
    _bars(ax, labels, values, color=["tab:blue", "tab:gray", "tab:green"][: len(values)])
    ax.axhline(19, color="tab:red", linestyle="--", label="target 19/s")
    ax.axhline(20, color="black", linewidth=0.8, label="qps 20")
    ax.set_ylabel("requests / s (wall)")
    ax.legend(loc="center")  # above the short sequential bar
    title = f"{_status(paging)}"
    if fan_out is not None:
        title += f", {_status(fan_out)}"
    ax.set_title(f"{title}: 250 ms latency, qps 20")


def _decode(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["4"]
    rates = o.chart["items_per_s"]
    names = sorted(rates, key=rates.__getitem__)
    colors = ["tab:blue" if n == "keyapi_async" else "tab:gray" for n in names]
    labels = [n.replace(" (not judged)", "") for n in names]
    bars = ax.barh(labels, [rates[n] / 1e3 for n in names])
    for bar, color in zip(bars, colors, strict=True):
        bar.set_color(color)
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xlim(0, max(rates.values()) / 1e3 * 1.15)
    ax.set_xlabel("thousand items / s (drifted page, best of rounds)")
    ax.set_title(f"{_status(o)}: decoding")


def _limiter(ax: Any, o: Outcome, series: str) -> None:
    settings = o.chart["settings"]
    names = list(o.chart[series])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [s + (i - (len(names) - 1) / 2) * width for s in range(len(settings))]
        bars = ax.bar(xs, o.chart[series][name], width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(settings)), [f"qps {s:g}" for s in settings])
    ax.legend(fontsize=7, loc="upper left")


def _limiter_rate(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["5"]
    _limiter(ax, o, "achieved")
    ax.axhspan(0.98, 1.02, color="tab:green", alpha=0.15, label="target ±2%")
    ax.set_ylim(0.85, 1.25)
    ax.set_ylabel("achieved / setting (server arrivals)")
    ax.set_title(f"{_status(o)}: limiter rate")


def _limiter_burst(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["5"]
    _limiter(ax, o, "max_ratio")
    ax.axhline(1.0, color="tab:red", linestyle="--")
    ax.set_ylim(0, 2.8)
    ax.set_ylabel("most arrivals in 1 s / setting")
    ax.set_title(f"{_status(o)}: limiter burst (<= 1 is under the limit)")


def _memory(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["6"]
    _bars(ax, ["peak RSS growth"], [o.chart["growth_mb"]], color="tab:blue")
    ax.axhline(25, color="tab:red", linestyle="--", label="limit 25 MB")
    ax.set_ylim(0, 30)
    ax.set_ylabel("MB")
    ax.legend()
    ax.set_title(f"{_status(o)}: memory, 100k items streamed")


def _adaptive(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["7"]
    chart = o.chart
    answered, rejected = chart["answered"], chart["rejected"]
    seconds = math.ceil(max([*answered, *rejected, 1.0]))
    bins = range(seconds + 1)
    ax.hist(
        [answered, rejected],
        bins=bins,
        stacked=True,
        color=["tab:blue", "tab:red"],
        label=["answered", "429"],
    )
    times, rates = zip(*chart["trace"], strict=True) if chart["trace"] else ((), ())
    ax.step(times, rates, where="post", color="black", linewidth=1, label="limiter rate")
    ax.axhline(chart["server_qps"], color="tab:red", linestyle="--", label="server limit")
    ax.set_ylim(0, chart["client_qps"] * 1.1)
    ax.set_xlabel("seconds since the first request")
    ax.set_ylabel("arrivals per second (server) / rate")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(
        f"{_status(o)}: adaptive pacing, qps {chart['client_qps']:g} vs limit "
        f"{chart['server_qps']:g}"
    )


def _fleet(ax: Any, by_key: dict[str, Outcome]) -> None:
    o = by_key["8"]
    chart = o.chart
    labels = [label.split(")")[0] + ")" for label in chart["labels"]]
    _bars(ax, labels, [share * 100 for share in chart["share"]], color="tab:green")
    ax.axhline(95, color="grey", linestyle="--", linewidth=1)
    ax.set_ylabel("requests/s at the server, % of the limit")
    ax.set_title(
        f"{_status(o)}: 4 processes, limit 40 (finish s: "
        + ", ".join(f"{s:.1f}" for s in chart["finish"])
        + ")",
        fontsize=9,
    )
