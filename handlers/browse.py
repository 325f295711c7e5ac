"""Browsing the catalogue: category → track → upcoming offers → offer card, Back at each step.

An offer's card opened from search results is shown here too, its Back leading to the results."""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.browse import ChooseCategory
from bot.callbacks.browse import ChooseTrack
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from bot.callbacks.browse import ShowOffer
from bot.callbacks.search import SearchPage
from bot.callbacks.search import SearchResult
from bot.screens.browse import categories
from bot.screens.browse import offer_list
from bot.screens.browse import tracks
from bot.screens.offer_cards import OfferCards
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import notice
from bot.screens.view import show
from catalogue.models import Resident
from catalogue.models import Track
from catalogue.models import utc_now
from catalogue.queries import list_categories
from catalogue.queries import list_tracks
from catalogue.queries import track_offers_page
from catalogue.residents import choose_category
from catalogue.residents import choose_track
from catalogue.residents import chosen_track

router = Router(name=__name__)


@router.message(Command("tracks"))
@router.callback_query(Navigate.filter(F.to == Screen.CATEGORIES))
async def show_categories(
    event: Message | CallbackQuery, session: AsyncSession, resident: Resident, viewer: Viewer
) -> None:
    items = await list_categories(session)
    await show(event, categories(viewer, items, resident.category_id))


@router.callback_query(ChooseCategory.filter())
async def show_tracks(
    callback: CallbackQuery,
    callback_data: ChooseCategory,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    category = await choose_category(session, resident, callback_data.category_id)
    if category is None:
        callback_answer.text = _("This category no longer exists.")
        await show(callback, categories(viewer, await list_categories(session), None))
        return
    items = await list_tracks(session, category.id, utc_now())
    await show(callback, tracks(viewer, category, items, resident.track_id))


@router.callback_query(ChooseTrack.filter())
async def show_track_offers(
    callback: CallbackQuery,
    callback_data: ChooseTrack,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    track = await choose_track(session, resident, callback_data.track_id)
    await show_offer_page(callback, callback_answer, session, viewer, track, callback_data.page)


@router.callback_query(Navigate.filter(F.to == Screen.MY_TRACK))
async def show_my_track(
    callback: CallbackQuery,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    track = await chosen_track(session, resident)
    await show_offer_page(callback, callback_answer, session, viewer, track, 0)


async def show_offer_page(
    callback: CallbackQuery,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    viewer: Viewer,
    track: Track | None,
    page: int,
) -> None:
    if track is None:
        callback_answer.text = _("This track no longer exists. Please choose another.")
        await show(callback, categories(viewer, await list_categories(session), None))
        return
    offers = await track_offers_page(session, track, utc_now(), page)
    await show(callback, offer_list(viewer, offers))


def back_to_list(track_id: int, page: int) -> CallbackData:
    """Where an offer card's Back leads: the track's list page it was opened from (0, the menu)."""
    return ChooseTrack(track_id=track_id, page=page) if track_id else Navigate(to=Screen.MENU)


def card_or_gone(card: View | None, back: CallbackData) -> View:
    """An offer's card, or a notice with the same Back for an offer gone from the programme."""
    gone = _("This offer is no longer in the programme.")
    return card if card is not None else notice(gone, back)


@router.callback_query(ShowOffer.filter())
@router.callback_query(SearchResult.filter())
async def show_offer(
    callback: CallbackQuery,
    callback_data: ShowOffer | SearchResult,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    offer_cards: OfferCards,
    resident: Resident,
    viewer: Viewer,
) -> None:
    back: CallbackData
    if isinstance(callback_data, SearchResult):
        back = SearchPage(page=callback_data.page)
    else:
        back = back_to_list(callback_data.track_id, callback_data.page)
    # The card with the resident's subscribe buttons (handlers/subscriptions.py).
    card = await offer_cards.view(session, resident, viewer, callback_data.offer_id, back)
    if card is None:
        callback_answer.text = _("This offer has been removed from the programme.")
    await show(callback, card_or_gone(card, back))
