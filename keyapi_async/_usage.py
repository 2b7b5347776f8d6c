"""Usage: what a client (and its with_options views) has spent, and what it saved."""

from __future__ import annotations


class Usage:
    """What this client has spent.

    - `requests`: HTTP requests sent, retries and redirect hops included, whatever the answer.
    - `credits`: what the account may be charged: the same count, since every request that
      reaches the server costs a credit (docs: README.md; whether error answers are billed is not
      published, so this is the most the bill can say).
    - `succeeded`: answers with data (HTTP 200, code 0).
    - `retries`: attempts that were retried.
    - `rate_limited`: answers that were 429 (over the plan's QPS), retried or not.
    - `cache_hits`: calls answered from the cache: no request, no credit.
    - `coalesced`: calls that shared an identical call's request in flight: no credit either.

    A request counts once its connection is ready. Not exact in one case: a kept-alive connection
    the server closes just as it is reused fails the request after it was counted, though it may
    never have reached the server (see _transport); then `credits` can be one above the bill.
    """

    __slots__ = ("cache_hits", "coalesced", "rate_limited", "requests", "retries", "succeeded")

    def __init__(self) -> None:
        self.requests = 0
        self.succeeded = 0
        self.retries = 0
        self.rate_limited = 0
        self.cache_hits = 0
        self.coalesced = 0

    @property
    def credits(self) -> int:
        return self.requests

    def __repr__(self) -> str:
        return (
            f"Usage(requests={self.requests}, credits={self.credits}, "
            f"succeeded={self.succeeded}, retries={self.retries}, "
            f"rate_limited={self.rate_limited}, cache_hits={self.cache_hits}, "
            f"coalesced={self.coalesced})"
        )
