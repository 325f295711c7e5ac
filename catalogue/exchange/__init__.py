"""The catalogue exchange format: its schema, import of JSON, CSV and .ics files, export, and the
demo programme loaded through it."""
