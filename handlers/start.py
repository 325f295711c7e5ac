"""/start, deep links to an offer, and choosing the language."""

from __future__ import annotations

import re

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.browse import ChooseLanguage
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from bot.screens.browse import categories
from bot.screens.browse import language_picker
from bot.screens.browse import main_menu
from bot.screens.offer_cards import OfferCards
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import notice
from bot.screens.view import show
from bot.settings import SUPPORTED_LOCALES
from bot.settings import Settings
from catalogue.models import Resident
from catalogue.queries import find_offer
from catalogue.queries import list_categories
from catalogue.residents import chosen_category
from catalogue.residents import chosen_track
from catalogue.residents import set_language

router = Router(name=__name__)

OFFER_LINK = re.compile(r"^offer_([A-Za-z0-9_-]{1,60})$")


@router.message(CommandStart(deep_link=True, magic=F.args.regexp(OFFER_LINK)))
async def open_offer_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    offer_cards: OfferCards,
    resident: Resident,
    viewer: Viewer,
) -> None:
    reference = OFFER_LINK.match(command.args or "").group(1)  # type: ignore[union-attr]
    offer = await find_offer(session, reference)
    back = Navigate(to=Screen.MENU)
    view = await offer_cards.view(session, resident, viewer, offer.id, back) if offer else None
    if view is None:
        await show(message, notice(_("This offer is no longer in the programme.")))
        return
    await show(message, view)


@router.message(CommandStart())
async def start(
    message: Message, session: AsyncSession, resident: Resident, viewer: Viewer, settings: Settings
) -> None:
    if not resident.language_chosen:
        await show(message, language_picker(resident.language))
        return
    await show(message, await menu_view(session, resident, viewer, settings))


@router.message(Command("language"))
@router.callback_query(Navigate.filter(F.to == Screen.LANGUAGE))
async def ask_language(event: Message | CallbackQuery, resident: Resident) -> None:
    await show(event, language_picker(resident.language))


@router.callback_query(ChooseLanguage.filter(F.code.in_(SUPPORTED_LOCALES)))
async def choose_language(
    callback: CallbackQuery,
    callback_data: ChooseLanguage,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    i18n: I18n,
    settings: Settings,
) -> None:
    first_time = not resident.language_chosen
    await set_language(session, resident, callback_data.code)
    viewer = Viewer(callback_data.code, viewer.zone)
    with i18n.use_locale(callback_data.code):
        if first_time or resident.category_id is None:
            items = await list_categories(session)
            await show(callback, categories(viewer, items, resident.category_id))
        else:
            await show(callback, await menu_view(session, resident, viewer, settings))


async def menu_view(
    session: AsyncSession, resident: Resident, viewer: Viewer, settings: Settings
) -> View:
    category = await chosen_category(session, resident)
    track = await chosen_track(session, resident)
    return main_menu(viewer, category, track, settings.mini_app_url)
