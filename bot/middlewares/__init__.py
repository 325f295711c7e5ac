"""Middlewares, one job each: guards at the door (duplicates, flood, shutdown), the database
transaction of an update, the resident and their language."""
