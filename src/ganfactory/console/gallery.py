"""The gallery's view of a run's items: filter by class and decision, sort by seed or a manifest metric, page."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ganfactory.curation.decisions import Decision
from ganfactory.curation.items import GalleryItem

SHOW = ("all", "undecided", "accept", "reject")


@dataclass(frozen=True)
class GalleryQuery:
    class_name: str = ""  # "" = every class
    sort: str = ""  # "" = manifest order, else a numeric manifest field ("seed", "uncertainty", ...)
    descending: bool = False
    show: str = "all"
    page: int = 1


@dataclass(frozen=True)
class GalleryPage:
    items: list[GalleryItem]
    page: int
    pages: int
    matching: int


def select(items: list[GalleryItem], decisions: dict[str, Decision], query: GalleryQuery, *,
           page_size: int) -> GalleryPage:
    chosen = [item for item in items if not query.class_name or item.class_name == query.class_name]
    if query.show in ("accept", "reject"):
        chosen = [item for item in chosen if decisions.get(item.id) is Decision(query.show)]
    elif query.show == "undecided":
        chosen = [item for item in chosen if item.id not in decisions]
    if query.sort:
        # Items without the field go last in either direction; each key is read once (thousands of items).
        keyed = [(item.number(query.sort), item) for item in chosen]
        present = [(key, item) for key, item in keyed if key is not None]
        present.sort(key=lambda pair: pair[0], reverse=query.descending)
        chosen = [item for _, item in present] + [item for key, item in keyed if key is None]
    elif query.descending:
        chosen = chosen[::-1]
    pages = max(1, math.ceil(len(chosen) / page_size))
    page = min(max(query.page, 1), pages)
    start = (page - 1) * page_size
    return GalleryPage(items=chosen[start:start + page_size], page=page, pages=pages, matching=len(chosen))


def counts(items: list[GalleryItem], decisions: dict[str, Decision]) -> dict[str, int]:
    accepted = sum(1 for item in items if decisions.get(item.id) is Decision.ACCEPT)
    rejected = sum(1 for item in items if decisions.get(item.id) is Decision.REJECT)
    return {"accept": accepted, "reject": rejected, "undecided": len(items) - accepted - rejected,
            "total": len(items)}
