"""Every module that defines tables, imported in one place so migrations see them all."""

import catalogue.models  # noqa: F401
