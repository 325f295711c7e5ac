"""Logging: lines for people (`LOG_FORMAT=text`) or one JSON object a line (`json`).

Every module logs through the standard `logging` module; in JSON mode structlog's
`ProcessorFormatter` renders each record (ours, aiogram's, aiohttp's, SQLAlchemy's) as an
object with `timestamp` (UTC), `level`, `logger`, `event`, any `exception` as a traceback
string, and the context of the update being handled (`update_id`, `user_id`, `update_type`),
bound by `bot.middlewares.log_context.UpdateLogContext` for the length of that update.
No aiogram here: the commands that do not talk to Telegram configure logging without it.
"""

from __future__ import annotations

import logging
import sys

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_format: str, level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        import structlog  # only JSON lines need it

        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[
                    structlog.contextvars.merge_contextvars,
                    structlog.stdlib.add_logger_name,
                    structlog.stdlib.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces each of its plugins on import: noise on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
