"""What residents look for and the city does not offer: anonymous counts of unmet queries.

Each query typed in the chat is counted once a day under its *normalised* form: its words
without stop words and question words, each reduced to its word form
(`catalogue.search.forms`), sorted; so "гончарное дело", "гончарному делу" and "дело
гончарное" count together. A row counts searches, those that found nothing (not even after a
correction) and those whose results somebody opened; a query is *unmet* each time it found
nothing or nobody opened what it found. No resident id is kept.

`unmet_queries` is the report's source, for `/report` → "What residents looked for" and
`learncity report demand [FROM TO]`: plain rows, so other sources of demand can sit beside
them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.database import dialect_insert
from catalogue.search.forms import form
from catalogue.search.query import analyse_query
from catalogue.search.tables import EXAMPLE_LIMIT
from catalogue.search.tables import QUERY_KEY_LIMIT
from catalogue.search.tables import SearchDemand

DEFAULT_DAYS = 30
MAX_DAYS = 3660


@dataclass(frozen=True)
class UnmetQuery:
    query: str  # as a resident last typed it
    key: str  # the normalised form the counts are kept under
    searches: int
    found_nothing: int
    not_opened: int  # found something, but nothing was opened

    @property
    def unmet(self) -> int:
        return self.found_nothing + self.not_opened


def demand_key(query: str) -> str:
    """The normalised form of a query (see the module docstring); "" for one of no words."""
    forms = sorted({form(word) for word in analyse_query(query).words})
    return " ".join(forms)[:QUERY_KEY_LIMIT]


async def record_search(session: AsyncSession, query: str, found: bool, day: date) -> str:
    """Counts one search of `query` on `day`; returns its key ("" when not counted)."""
    key = demand_key(query)
    if not key:
        return ""
    # As typed, less what no database or screen should hold (NUL, control characters).
    printable = "".join(char if char.isprintable() else " " for char in query[:EXAMPLE_LIMIT])
    counted = {
        "day": day,
        "query": key,
        "example": " ".join(printable.split()),
        "searches": 1,
        "found_nothing": 0 if found else 1,
        "opened": 0,
    }
    await session.execute(_count_search(dialect_insert(session)), counted)
    return key


@functools.cache
def _count_search(insert: Any) -> Any:
    """One statement, built once per dialect (a search is the busiest write there is): the
    day's row for the key, made by its first search on any process, else counted up."""
    statement = insert(SearchDemand)
    return statement.on_conflict_do_update(
        index_elements=["day", "query"],
        set_={
            "searches": SearchDemand.searches + statement.excluded.searches,
            "found_nothing": SearchDemand.found_nothing + statement.excluded.found_nothing,
            "example": statement.excluded.example,
        },
    )


async def record_opened(session: AsyncSession, key: str, day: date) -> None:
    """A result of the search counted under `key` on `day` was opened (count it once)."""
    await session.execute(
        update(SearchDemand)
        .where(SearchDemand.day == day, SearchDemand.query == key)
        .values(opened=SearchDemand.opened + 1)
    )


async def unmet_queries(
    session: AsyncSession, since: date, until: date, limit: int = 20
) -> list[UnmetQuery]:
    """The most often unmet queries of the days `since` to `until` (both included), most
    unmet first."""
    searches = func.sum(SearchDemand.searches)
    nothing = func.sum(SearchDemand.found_nothing)
    opened = func.sum(SearchDemand.opened)
    unmet = searches - opened
    rows = await session.execute(
        select(SearchDemand.query, func.max(SearchDemand.example), searches, nothing, opened)
        .where(SearchDemand.day >= since, SearchDemand.day <= until)
        .group_by(SearchDemand.query)
        .having(unmet > 0)
        .order_by(unmet.desc(), searches.desc(), SearchDemand.query)
        .limit(limit)
    )
    return [
        UnmetQuery(
            query=example,
            key=key,
            searches=int(total),
            found_nothing=int(empty),
            not_opened=max(int(total) - int(empty) - int(seen), 0),
        )
        for key, example, total, empty, seen in rows
    ]


def demand_period(words: list[str], today: date) -> tuple[date, date] | None:
    """[] → the last 30 days; [FROM] → FROM to today; [FROM, TO]; None when unreadable."""
    if not words:
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    if len(words) > 2:
        return None
    try:
        since = date.fromisoformat(words[0])
        until = date.fromisoformat(words[1]) if len(words) == 2 else today
    except ValueError:
        return None
    if until < since or (until - since).days > MAX_DAYS:
        return None
    return since, until


def demand_table(rows: list[UnmetQuery]) -> str:
    """`learncity report demand`: a header and one tab-separated line per query."""
    lines = ["query\tunmet\tfound_nothing\tnot_opened\tsearches"]
    lines += [
        f"{row.query}\t{row.unmet}\t{row.found_nothing}\t{row.not_opened}\t{row.searches}"
        for row in rows
    ]
    return "\n".join(lines)


async def demand_command(session: AsyncSession, words: list[str], today: date) -> tuple[int, str]:
    """(exit code, what to print) for `learncity report demand [FROM [TO]]`."""
    period = demand_period(words, today)
    if period is None:
        return 2, "Usage: learncity report demand [FROM [TO]], dates as YYYY-MM-DD, FROM <= TO"
    rows = await unmet_queries(session, *period, limit=100)
    return 0, f"Unmet queries {period[0]} – {period[1]}\n" + demand_table(rows)
