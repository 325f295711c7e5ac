"""/report: attendance reports for organisers and administrators (summary, chart, CSVs), and
the GNLC report pack (a PDF, the tables and charts) for administrators.

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
from catalogue.reporting.gnlc import Period
from catalogue.reporting.gnlc import parse_period
from catalogue.reports import ReportScope
from catalogue.reports import ScopeError
from catalogue.reports import ScopeProblem
from catalogue.reports import resolve_scope
from catalogue.team import Permission
from catalogue.team import Role
from handlers.search import show_demand

router = protect(Router(name=__name__), Permission.VIEW_REPORTS)
PERIODS = ("today", "week", "month")
GNLC = "gnlc"
DEMAND = "demand"


async def send_report(
    bot: Bot, chat_id: int, session: AsyncSession, scope: ReportScope, viewer: Viewer
) -> None:
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    files = await make_report_files(session, scope, viewer, utc_now())
    await bot.send_message(chat_id, files.summary)
    await bot.send_photo(chat_id, BufferedInputFile(files.chart_png, filename=files.chart_name))
    for name, content in files.files()[1:]:
        await bot.send_document(chat_id, BufferedInputFile(content, filename=name))


async def send_gnlc_pack(
    bot: Bot, chat_id: int, session: AsyncSession, period: Period, viewer: Viewer
) -> None:
    from bot.report_files.gnlc import make_gnlc_pack  # matplotlib and fpdf2 only when asked

    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    pack = await make_gnlc_pack(session, period, viewer, utc_now())
    await bot.send_message(chat_id, pack.summary)
    await bot.send_document(chat_id, BufferedInputFile(pack.pdf, filename=pack.pdf_name))
    await bot.send_document(chat_id, BufferedInputFile(pack.zipped(), filename=pack.zip_name))


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
    role: Role,
) -> None:
    words = (command.args or "").split()
    if not words:
        festivals = await latest_festivals(session, report_screens.PICKER_FESTIVALS)
        await show(message, report_screens.picker(festivals, viewer, role is Role.ADMIN))
        return
    if words[0].lower() == DEMAND:  # what residents looked for (handlers/search.py)
        await show_demand(message, session, words[1:], _today(settings).date(), settings.city_zone)
        return
    if words[0].lower() == GNLC:
        if role is not Role.ADMIN:
            await message.answer(report_screens.gnlc_refused())
            return
        period = parse_period(words[1:], _today(settings).date())
        await send_gnlc_pack(bot, message.chat.id, session, period, viewer)
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
    role: Role,
) -> None:
    if callback_data.kind == GNLC:
        if role is not Role.ADMIN:
            callback_answer.text = report_screens.gnlc_refused()
            callback_answer.show_alert = True
            return
        period = parse_period([], _today(settings).date())
        await send_gnlc_pack(bot, callback.from_user.id, session, period, viewer)
        return
    if callback_data.kind in PERIODS:
        words = [callback_data.kind]
    elif callback_data.kind == "festival":
        words = ["festival", str(callback_data.target)]
    else:
        callback_answer.text = report_screens.scope_problem(ScopeError(ScopeProblem.USAGE))
        return
    scope = await resolve_scope(session, words, _today(settings).date())
    await send_report(bot, callback.from_user.id, session, scope, viewer)
