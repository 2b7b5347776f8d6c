"""`--dry-run`: the requests a command would make and the most credits they can cost.

Every request costs one credit (docs README), a retry too. The plan is worked out by the same
SDK calls that validate the command, so it sends nothing and needs no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from ._errors import PROG

__all__ = ["Plan", "print_plan"]


@dataclass(frozen=True)
class Plan:
    what: str  # the requests, in words
    requests: int  # at most, without retries (the endpoint's ceiling when not bounded)
    bounded: bool  # False: only the endpoint's page ceiling stops it
    cap_hint: str  # the option that would bound it


def print_plan(
    out: TextIO, command: str, plan: Plan, *, max_credits: int | None, max_retries: int
) -> None:
    out.write(f"{PROG}: dry run, nothing sent\n")
    out.write(f"plan: {command}: {plan.what}\n")
    if not plan.bounded and max_credits is None:
        out.write(
            f"most credits: no upper bound (up to {plan.requests:,} requests, the endpoint's "
            f"page ceiling); {plan.cap_hint}, or --max-credits N\n"
        )
        return
    worst = plan.requests * (1 + max_retries)  # every request retried to the last
    requests = plan.requests if max_credits is None else min(worst, max_credits)
    if max_credits is not None:
        out.write(f"most credits: {requests:,} (--max-credits {max_credits:,}, retries included)\n")
    else:
        out.write(
            f"most credits: {requests:,} ({requests:,} requests; a retry costs one more, so up "
            f"to {worst:,} if every request were retried {max_retries} times: "
            "--max-credits N caps it)\n"
        )
