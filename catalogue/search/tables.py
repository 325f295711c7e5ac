"""Tables of search: the city's synonyms, and what residents looked for and did not find.

* `search_synonym`: one group of words that mean the same to a resident, in one language
  ("тропа", "маршрут", "тропинка"). Edited with `learncity catalogue synonyms`.
* `search_demand`: anonymous counts per day and normalised query (no resident id): how many
  times it was searched, how many of those found nothing, and how many had a result opened.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import JSON
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.models import _string_column

QUERY_KEY_LIMIT = 120
EXAMPLE_LIMIT = 200


class SearchSynonym(SQLModel, table=True):
    __tablename__ = "search_synonym"

    id: int | None = Field(default=None, primary_key=True)
    language: str = Field(sa_column=_string_column(10, index=True))
    words: list[str] = Field(sa_column=Column(JSON, nullable=False, default=list))


class SearchDemand(SQLModel, table=True):
    __tablename__ = "search_demand"
    __table_args__ = (sa.UniqueConstraint("day", "query"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(sa.Date, nullable=False, index=True))
    # The query's words as forms, sorted: "гончарному делу" and "дело гончарное" count as one.
    query: str = Field(sa_column=_string_column(QUERY_KEY_LIMIT))
    # How it was last typed, to show organisers words rather than stems.
    example: str = Field(sa_column=_string_column(EXAMPLE_LIMIT))
    searches: int = 0
    found_nothing: int = 0
    opened: int = 0
