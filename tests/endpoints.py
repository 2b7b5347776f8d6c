"""The five endpoints as the tests know them, in one table.

Each row pairs the SDK's declaration with what the API docs say of the endpoint (its path, its
reference page, the field naming a record, the page ceiling): test_public_api checks that the
declarations agree, so the other tests can rely on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyapi_async import _endpoints as e


@dataclass(frozen=True)
class Endpoint:
    method: str  # client.influencers.<method>, and the CLI's subcommand
    declaration: e.Endpoint[Any]  # the SDK's
    path: str
    page: str  # its reference page in the API docs (../shared/keyapi-docs)
    key: str  # the field that names a record
    ceiling: int | None  # the last page_num the docs allow; None: not paginated

    @property
    def model(self) -> type[Any]:
        return self.declaration.model

    @property
    def paginated(self) -> bool:
        return self.ceiling is not None


def _row(method: str, declaration: e.Endpoint[Any], key: str, ceiling: int | None) -> Endpoint:
    return Endpoint(
        method=method,
        declaration=declaration,
        path=f"/v1/tiktok/influencer/{method}/analytics",
        page=f"influencer-{method}-analytics.md",
        key=key,
        ceiling=ceiling,
    )


# Page ceilings from the docs' page_num descriptions.
LIST = _row("list", e.INFLUENCER_LIST, "user_id", 10_000)
DETAIL = _row("detail", e.INFLUENCER_DETAIL, "user_id", None)
VIDEOS = _row("videos", e.INFLUENCER_VIDEOS, "video_id", 100_000)
RANKING = _row("ranking", e.INFLUENCER_RANKING, "user_id", 100_000)
LIVESTREAMS = _row("livestreams", e.INFLUENCER_LIVESTREAMS, "room_id", 100_000)

ALL = (LIST, DETAIL, VIDEOS, RANKING, LIVESTREAMS)
PAGINATED = tuple(row for row in ALL if row.paginated)
BY_METHOD = {row.method: row for row in ALL}
BY_PAGE = {row.page: row for row in ALL}
BY_MODEL = {row.model: row for row in ALL}
