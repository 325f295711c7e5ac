"""`learncity`: run the bot, talk to it locally, manage the catalogue.

Each command imports what it needs when it runs: `catalogue …`, `report` and `migrate` never
talk to Telegram, so they start without aiogram and the handlers, in a fraction of the seconds
the bot takes (tests/test_cli_start_up.py, bench/cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from bot.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="learncity", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser(
        "run", help="serve Telegram by long polling (BOT_TOKEN set) or open the local chat"
    )
    running.add_argument(
        "--webhook",
        action="store_true",
        help="serve Telegram's posts to WEBHOOK_URL instead of polling, with /healthz and /metrics",
    )
    commands.add_parser("chat", help="talk to the bot in this terminal: no token, no network")
    commands.add_parser("migrate", help="bring the database schema up to date")
    reporting = commands.add_parser(
        "report",
        help="attendance report: summary, chart (PNG) and CSVs, the files /report sends",
        description="Scopes: today | week | month | session N | offer ID | festival ID | "
        "track ID | YYYY-MM-DD [YYYY-MM-DD]; gnlc [FROM TO]: the GNLC report pack (PDF, CSVs, "
        "charts)",
    )
    reporting.add_argument("scope", nargs="+", help="e.g. festival 3, or 2025-06-01 2025-06-30")
    reporting.add_argument("--out", type=Path, default=Path(), help="folder for the files")
    reporting.add_argument(
        "--locale", help="language of the summary and chart (default: DEFAULT_LOCALE)"
    )

    catalogue = commands.add_parser("catalogue", help="import, export and inspect the catalogue")
    actions = catalogue.add_subparsers(dest="action", required=True)
    importing = actions.add_parser(
        "import", help="import a JSON document, a one-table CSV or an offer's .ics calendar"
    )
    importing.add_argument("file", type=Path)
    importing.add_argument("--table", help="the CSV file's table, if its name does not say")
    importing.add_argument("--offer", help="the offer whose sessions an .ics file holds (its id)")
    exporting = actions.add_parser("export", help="write the whole catalogue as JSON")
    exporting.add_argument("file", type=Path)
    actions.add_parser("schema", help="print the JSON Schema of the import format")
    searching = actions.add_parser("search", help="fuzzy-search the catalogue as residents do")
    searching.add_argument("query")
    searching.add_argument("--limit", type=int, default=10)
    searching.add_argument(
        "--json", action="store_true", help="print one JSON object, with the correction applied"
    )
    synonyms = actions.add_parser("synonyms", help="list, add or remove search synonyms")
    synonyms.add_argument("change", choices=["list", "add", "remove"])
    synonyms.add_argument("language", nargs="?", help="ru or en (all, for list)")
    synonyms.add_argument("words", nargs="*", help="add: words meaning the same; remove: one")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    from bot.settings import SettingsError
    from bot.settings import load_settings
    from bot.settings import require_webhook
    from bot.startup.logs import configure_logging

    webhook = getattr(arguments, "webhook", False)
    try:
        settings = load_settings()
        if webhook:
            require_webhook(settings)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    # In the local chat the terminal belongs to the conversation: only problems are logged.
    chatting = arguments.command == "chat" or (
        arguments.command == "run" and settings.bot_token is None
    )
    configure_logging(settings.log_format, logging.WARNING if chatting else logging.INFO)
    from catalogue import text_policy

    text_policy.configure(settings.input_limits)
    try:
        return asyncio.run(dispatch(arguments, settings))
    except SettingsError as error:  # found on start, e.g. REDIS_URL does not answer
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def dispatch(arguments: argparse.Namespace, settings: Settings) -> int:
    if arguments.command == "catalogue":
        return await catalogue_command(arguments, settings)
    if arguments.command == "report":
        from bot.startup.report_cli import report_command

        return await report_command(arguments, settings)
    if arguments.command == "migrate":
        return await migrate(settings)
    return await talk(arguments, settings)


async def talk(arguments: argparse.Namespace, settings: Settings) -> int:
    """`run` and `chat`: the only commands that import aiogram and the handlers."""
    from bot.startup.app import create_app
    from bot.startup.app import run_polling
    from bot.startup.local_chat import run_local_chat

    serve_telegram = arguments.command == "run" and settings.bot_token is not None
    app = await create_app(settings)
    try:
        if serve_telegram and arguments.webhook:
            from bot.startup.webhook import run_webhook

            await run_webhook(app)
        elif serve_telegram:
            await run_polling(app)
        else:
            await run_local_chat(app)
    finally:
        await app.close()
    return 0


async def migrate(settings: Settings) -> int:
    from catalogue.database import apply_migrations
    from catalogue.database import create_engine

    engine = create_engine(settings.database_url)
    try:
        await apply_migrations(engine)
    finally:
        await engine.dispose()
    return 0


def print_schema() -> int:
    import json

    from catalogue.exchange.schema import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


async def catalogue_command(arguments: argparse.Namespace, settings: Settings) -> int:
    from catalogue.database import apply_migrations
    from catalogue.database import create_engine
    from catalogue.database import create_session_maker

    if arguments.action == "schema":
        return print_schema()
    engine = create_engine(settings.database_url)
    try:
        await apply_migrations(engine)
        session_maker = create_session_maker(engine)
        if arguments.action == "search":
            return await search(arguments, settings, session_maker)
        if arguments.action == "synonyms":
            from catalogue.search.synonyms import synonyms_command

            async with session_maker.begin() as session:
                code, text = await synonyms_command(
                    session, arguments.change, arguments.language, arguments.words
                )
            print(text, file=sys.stdout if code == 0 else sys.stderr)
            return code
        if arguments.action == "export":
            return await export(arguments, session_maker)
        return await import_catalogue(arguments, settings, session_maker)
    finally:
        await engine.dispose()


async def search(
    arguments: argparse.Namespace,
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
) -> int:
    from catalogue.search.engine import search_command

    if settings.load_demo:  # the same catalogue `learncity run` would show
        from datetime import datetime

        from catalogue.exchange.seeding import load_demo_if_empty

        async with session_maker.begin() as session:
            today = datetime.now(settings.city_zone).date()
            await load_demo_if_empty(session, today, settings.city_zone)
    async with session_maker() as session:
        print(await search_command(session, arguments.query, arguments.limit, arguments.json))
    return 0


async def export(
    arguments: argparse.Namespace, session_maker: async_sessionmaker[AsyncSession]
) -> int:
    from catalogue.exchange.importer import export_document

    async with session_maker() as session:
        document = await export_document(session)
    arguments.file.write_text(document.model_dump_json(indent=2), encoding="utf-8")
    print(f"Exported {sum(map(len, document.model_dump().values()))} records")
    return 0


async def import_catalogue(
    arguments: argparse.Namespace,
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
) -> int:
    from catalogue.exchange.importer import import_file
    from catalogue.exchange.rows import CatalogueImportError

    if not arguments.file.is_file():
        print(f"No such file: {arguments.file}", file=sys.stderr)
        return 1
    try:
        async with session_maker.begin() as session:
            report = await import_file(
                session, arguments.file, arguments.table, offer=arguments.offer,
                zone=settings.city_zone,
            )  # fmt: skip
    except CatalogueImportError as error:
        for problem in error.errors:
            print(problem, file=sys.stderr)
        if error.total > len(error.errors):
            print(f"… and {error.total - len(error.errors)} more.", file=sys.stderr)
        print(f"Nothing was imported: {error.total} problem(s).", file=sys.stderr)
        return 1
    for table in report.created:
        if report.created[table] or report.updated[table]:
            print(f"{table}: {report.created[table]} new, {report.updated[table]} updated")
    return 0
