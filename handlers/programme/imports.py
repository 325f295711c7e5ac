"""/import: a CSV, JSON or ICS file sent by an organiser, imported all or nothing by the same
importer as `learncity catalogue import`. An .ics file sent from an offer becomes its sessions."""

from __future__ import annotations

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.types import BufferedInputFile
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks.programme import ImportFile
from bot.filters import Magic
from bot.permissions import HasPermission
from bot.screens import programme as ui
from bot.screens.view import show
from bot.states import ImportStates
from bot.states import ProgrammeStates
from catalogue.exchange.importer import TABLES
from catalogue.exchange.importer import import_bytes
from catalogue.exchange.rows import CatalogueImportError
from catalogue.programme import offer_by_id
from catalogue.team import Permission
from handlers.programme.common import Desk
from handlers.programme.common import Event

router = Router(name=__name__)

# The Bot API hands a bot files of up to 20 MB; IMPORT_MAX_BYTES may be lower.
TELEGRAM_DOWNLOAD_BYTES = 20 * 2**20


@router.message(Command("import"))
@router.callback_query(ImportFile.filter())
async def ask_for_file(event: Event, desk: Desk, callback_data: ImportFile | None = None) -> None:
    offer = await offer_by_id(desk.session, callback_data.offer_id if callback_data else None)
    await desk.state.set_state(ImportStates.file)
    await desk.state.set_data({"offer_id": offer.id if offer else None})
    await show(event, ui.ask_file(offer, desk.viewer))


# Outside a form a file is taken as an import only from the team: a resident's goes on.
@router.message(StateFilter(ImportStates.file), Magic(F.document))
@router.message(
    StateFilter(None, ProgrammeStates.find),
    Magic(F.document),
    HasPermission(Permission.MANAGE_PROGRAMME),
)
async def import_upload(message: Message, bot: Bot, desk: Desk) -> None:
    document = message.document
    assert document is not None
    most = min(desk.settings.import_max_bytes, TELEGRAM_DOWNLOAD_BYTES)
    if document.file_size and document.file_size > most:
        await message.answer(
            _("The file is too big: up to {megabytes} MB, please.").format(
                megabytes=f"{most / 2**20:.3g}"
            )
        )
        return
    data = await desk.state.get_data()
    offer = await offer_by_id(desk.session, data.get("offer_id"))
    caption = (message.caption or "").strip().lower()
    content = await bot.download(document)
    assert content is not None
    try:
        report = await import_bytes(
            desk.session,
            document.file_name or "upload",
            content.read(),
            caption if caption in TABLES else None,
            offer=offer.external_id if offer else None,
            zone=desk.settings.city_zone,
        )
    except CatalogueImportError as error:
        await _report_problems(message, error)
        return
    await desk.back_to_finding()
    await message.answer(ui.import_done(report))


async def _report_problems(message: Message, error: CatalogueImportError) -> None:
    """The first problems in the chat, and every one of them in a file when there are more."""
    await message.answer(ui.import_failed(error.errors, error.total))
    if len(error.errors) > ui.REPORT_LINES:
        report_file = BufferedInputFile(ui.error_report_file(error.errors), "import-errors.txt")
        await message.answer_document(report_file)
