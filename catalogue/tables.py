"""Every module that defines tables, imported in one place so migrations see them all."""

import catalogue.attendance
import catalogue.models
import catalogue.team  # noqa: F401
import scheduler.broadcasts
import scheduler.models  # noqa: F401
