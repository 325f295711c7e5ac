"""Screens: what the bot shows (text plus inline keyboard), one module per feature, drawn from plain
values; they never query the database."""
