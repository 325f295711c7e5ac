"""Callback data of every inline button, one module per feature beside its screens.

Short prefixes keep under Telegram's 64 bytes. Nothing here is trusted: handlers re-check that
what an id points at still exists and that the person may act on it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# A number in callback data (an id, a page) outside what a PostgreSQL integer column can hold
# makes the button match no handler, so it meets the "out of date" reply rather than an error
# from the database. (Found by tests/test_fuzz.py.)
Id = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
