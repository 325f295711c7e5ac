"""The city's learning catalogue: models, queries, import and the demo programme."""
