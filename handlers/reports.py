"""/report: attendance reports for organisers and administrators (summary, chart, CSVs).

A scope that cannot be made (`ScopeError`) is explained by the error router (handlers/errors.py).
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.reports import ReportFor
from bot.permissions import protect
from bot.report_files import make_report_files
from bot.screens import reports as report_screens
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.models import utc_now
from catalogue.queries import latest_festivals
from catalogue.reports import ReportScope
from catalogue.reports import ScopeError
from catalogue.reports import ScopeProblem
from catalogue.reports import resolve_scope
from catalogue.team import Permission

router = protect(Router(name=__name__), Permission.VIEW_REPORTS)
PERIODS = ("today", "week", "month")


async def send_report(
    bot: Bot, chat_id: int, session: AsyncSession, scope: ReportScope, viewer: Viewer
) -> None:
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    files = await make_report_files(session, scope, viewer, utc_now())
    await bot.send_message(chat_id, files.summary)
    await bot.send_photo(chat_id, BufferedInputFile(files.chart_png, filename=files.chart_name))
    await bot.send_document(
        chat_id, BufferedInputFile(files.attendance_csv, filename=files.attendance_name)
    )
    await bot.send_document(
        chat_id, BufferedInputFile(files.aggregates_csv, filename=files.aggregates_name)
    )


def _today(settings: Settings) -> datetime:
    return utc_now().astimezone(settings.city_zone)


@router.message(Command("report"))
async def report(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    words = (command.args or "").split()
    if not words:
        festivals = await latest_festivals(session, report_screens.PICKER_FESTIVALS)
        await show(message, report_screens.picker(festivals, viewer))
        return
    scope = await resolve_scope(session, words[:3], _today(settings).date())
    await send_report(bot, message.chat.id, session, scope, viewer)


@router.callback_query(ReportFor.filter())
async def report_button(
    callback: CallbackQuery,
    callback_data: ReportFor,
    callback_answer: CallbackAnswer,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    if callback_data.kind in PERIODS:
        words = [callback_data.kind]
    elif callback_data.kind == "festival":
        words = ["festival", str(callback_data.target)]
    else:
        callback_answer.text = report_screens.scope_problem(ScopeError(ScopeProblem.USAGE))
        return
    scope = await resolve_scope(session, words, _today(settings).date())
    await send_report(bot, callback.from_user.id, session, scope, viewer)
