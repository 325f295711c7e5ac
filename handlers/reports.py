"""/report: attendance reports for organisers and administrators (summary, chart, CSVs), and
the GNLC report pack (a PDF, the tables and charts) for administrators.

A scope that cannot be made (`ScopeError`) is explained by the error router (handlers/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
from bot.middlewares.desks import HandedOver
from bot.permissions import protect
from bot.report_files import make_report_files
from bot.screens import reports as report_screens
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.models import utc_now
from catalogue.queries import latest_festivals
from catalogue.reports.attendance import ReportScope
from catalogue.reports.attendance import ScopeError
from catalogue.reports.attendance import ScopeProblem
from catalogue.reports.attendance import resolve_scope
from catalogue.reports.gnlc import Period
from catalogue.reports.gnlc import parse_period
from catalogue.team import Permission
from catalogue.team import Role
from handlers.search import show_demand

router = protect(Router(name=__name__), Permission.VIEW_REPORTS)
PERIODS = ("today", "week", "month")
GNLC = "gnlc"
DEMAND = "demand"


@dataclass(frozen=True)
class ReportDesk(HandedOver):
    """What a report request goes through: the bot that sends the files, the database session,
    the city's settings, how the reader reads and their role (only administrators get the GNLC
    pack). Handed to the handlers below as `desk` by a `HandOver` middleware."""

    bot: Bot
    session: AsyncSession
    settings: Settings
    viewer: Viewer
    role: Role

    def today(self) -> date:
        return utc_now().astimezone(self.settings.city_zone).date()

    async def send_report(self, chat_id: int, scope: ReportScope) -> None:
        """The summary, the chart as a photo, and the CSV files."""
        await self.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        files = await make_report_files(self.session, scope, self.viewer, utc_now())
        chart, *documents = files.files()
        await self._send(chat_id, files.summary, documents, photo=chart)

    async def send_gnlc_pack(self, chat_id: int, period: Period) -> None:
        """The summary, the PDF, and the tables and charts zipped."""
        from bot.report_files.gnlc import make_gnlc_pack  # matplotlib and fpdf2 only when asked

        await self.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        pack = await make_gnlc_pack(self.session, period, self.viewer, utc_now())
        documents = [(pack.pdf_name, pack.pdf), (pack.zip_name, pack.zipped())]
        await self._send(chat_id, pack.summary, documents)

    async def _send(
        self,
        chat_id: int,
        summary: str,
        documents: list[tuple[str, bytes]],
        photo: tuple[str, bytes] | None = None,
    ) -> None:
        await self.bot.send_message(chat_id, summary)
        if photo is not None:
            name, content = photo
            await self.bot.send_photo(chat_id, BufferedInputFile(content, filename=name))
        for name, content in documents:
            await self.bot.send_document(chat_id, BufferedInputFile(content, filename=name))


ReportDesk.hand_over(router)


@router.message(Command("report"))
async def report(message: Message, command: CommandObject, desk: ReportDesk) -> None:
    words = (command.args or "").split()
    if not words:
        festivals = await latest_festivals(desk.session, report_screens.PICKER_FESTIVALS)
        await show(message, report_screens.picker(festivals, desk.viewer, desk.role is Role.ADMIN))
        return
    if words[0].lower() == DEMAND:  # what residents looked for (handlers/search.py)
        zone = desk.settings.city_zone
        await show_demand(message, desk.session, words[1:], desk.today(), zone)
        return
    if words[0].lower() == GNLC:
        if desk.role is not Role.ADMIN:
            await message.answer(report_screens.gnlc_refused())
            return
        await desk.send_gnlc_pack(message.chat.id, parse_period(words[1:], desk.today()))
        return
    scope = await resolve_scope(desk.session, words[:3], desk.today())
    await desk.send_report(message.chat.id, scope)


@router.callback_query(ReportFor.filter())
async def report_button(
    callback: CallbackQuery,
    callback_data: ReportFor,
    callback_answer: CallbackAnswer,
    desk: ReportDesk,
) -> None:
    if callback_data.kind == GNLC:
        if desk.role is not Role.ADMIN:
            callback_answer.text = report_screens.gnlc_refused()
            callback_answer.show_alert = True
            return
        await desk.send_gnlc_pack(callback.from_user.id, parse_period([], desk.today()))
        return
    if callback_data.kind in PERIODS:
        words = [callback_data.kind]
    elif callback_data.kind == "festival":
        words = ["festival", str(callback_data.target)]
    else:
        callback_answer.text = report_screens.scope_problem(ScopeError(ScopeProblem.USAGE))
        return
    scope = await resolve_scope(desk.session, words, desk.today())
    await desk.send_report(callback.from_user.id, scope)
