"""Certificates: choosing the name to print, the PDF, and `/start verify_<code>` for anyone.

The first press of a completion's certificate asks for the name to print
(`LearnerStates.printed_name`); then the PDF is sent, and sent again on every later press.
The verification deep link answers anyone, resident or not, with what the code certifies.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.filters import CommandStart
from aiogram.filters import StateFilter
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.learners import CertificateAction
from bot.callbacks.learners import CertificateButton
from bot.filters import NOT_TEXT
from bot.filters import TYPED
from bot.screens.learners import certificates as screens
from bot.screens.learners.certificate_pdf import certificate_pdf
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.states import LearnerStates
from catalogue.learners.certificates import VERIFY_PREFIX
from catalogue.learners.certificates import Issued
from catalogue.learners.certificates import certificate_of
from catalogue.learners.certificates import check_holder
from catalogue.learners.certificates import issue_certificate
from catalogue.learners.certificates import read_code
from catalogue.learners.certificates import verify
from catalogue.learners.errors import LearnerError
from catalogue.learners.errors import LearnerProblem
from catalogue.models import utc_now
from handlers.learners.common import LearnerDesk

router = Router(name=__name__)

COMPLETION = "certificate_completion"  # FSM data: the completion whose name is being typed


async def send_certificate(bot: Bot, chat_id: int, issued: Issued, viewer: Viewer) -> None:
    code = issued.certificate.code
    link = await create_start_link(bot, VERIFY_PREFIX + code)
    content = certificate_pdf(
        issued.verification,
        issued.certificate.printed_name,
        link,
        _("Learning City"),
        viewer,
        utc_now(),
    )
    caption = screens.certificate_caption(
        viewer, issued.verification, issued.certificate.completion_id, link
    )
    await bot.send_document(
        chat_id,
        BufferedInputFile(content, filename=screens.PDF_NAME.format(code=code)),
        caption=caption.text,
        reply_markup=caption.markup,
    )


@router.callback_query(CertificateButton.filter())
async def certificate(
    callback: CallbackQuery, callback_data: CertificateButton, bot: Bot, desk: LearnerDesk
) -> None:
    session, resident_id = desk.session, desk.resident.id
    await check_holder(session, resident_id, callback_data.completion_id)
    issued = await certificate_of(session, resident_id, callback_data.completion_id)
    if issued is not None and issued.verification.revoked_at is not None:
        raise LearnerError(LearnerProblem.REVOKED)
    if issued is None or callback_data.action is CertificateAction.RENAME:
        await desk.state.set_state(LearnerStates.printed_name)
        await desk.state.update_data({COMPLETION: callback_data.completion_id})
        await show(callback, screens.ask_name(desk.viewer))
        return
    await send_certificate(bot, callback.from_user.id, issued, desk.viewer)


@router.message(StateFilter(LearnerStates.printed_name), TYPED)
async def printed_name(message: Message, bot: Bot, desk: LearnerDesk) -> None:
    state, viewer = desk.state, desk.viewer
    completion_id = int((await state.get_data()).get(COMPLETION) or 0)
    try:
        issued = await issue_certificate(
            desk.session,
            desk.resident.id,
            completion_id,
            message.text or "",
            viewer.locale,
            utc_now(),
        )
    except LearnerError as error:
        if error.problem is not LearnerProblem.BAD_NAME:
            await state.clear()
        raise  # the error router says why; a bad name may be typed again
    await state.clear()
    await send_certificate(bot, message.chat.id, issued, viewer)


@router.message(StateFilter(LearnerStates.printed_name), NOT_TEXT)
async def not_a_name(message: Message) -> None:
    await message.answer(screens.name_expected())


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(VERIFY_PREFIX)))
async def verify_link(
    message: Message, command: CommandObject, session: AsyncSession, viewer: Viewer
) -> None:
    code = read_code(command.args or "")
    found = await verify(session, code) if code else None
    await show(message, screens.verification_view(viewer, found))
