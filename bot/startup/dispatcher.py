"""The one dispatcher factory: used by `learncity run`, the local chat, the tests and bench."""

from __future__ import annotations

from typing import TypedDict

from aiogram import Bot
from aiogram import Dispatcher
from aiogram import methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods.base import Response
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.middlewares.database import CommitBeforeSending
from bot.middlewares.database import DatabaseSessionMiddleware
from bot.middlewares.dedupe import create_ledger
from bot.middlewares.flood import create_flood_counter
from bot.middlewares.guards import DuplicateUpdates
from bot.middlewares.guards import FloodControl
from bot.middlewares.guards import InFlightUpdates
from bot.middlewares.log_context import UpdateLogContext
from bot.middlewares.outages import FormsLostNotice
from bot.middlewares.outages import Outages
from bot.middlewares.private_chats import PersonalInPrivate
from bot.middlewares.resident import ResidentI18nMiddleware
from bot.middlewares.resident import ResidentMiddleware
from bot.screens.offer_cards import OfferCards
from bot.settings import Settings
from bot.startup.metrics import Metrics
from bot.startup.metrics import UpdateMetrics
from bot.startup.shared_state import ResilientStorage
from bot.startup.shared_state import create_storage
from catalogue import text_policy
from catalogue.cards import CardCache
from catalogue.residents import KnownResidents
from catalogue.search.engine import CatalogueSearch
from catalogue.subscriptions import CardStates
from catalogue.table_changes import table_changes
from handlers import feature_routers
from handlers.errors import LeaveRefusedPressesUnanswered
from scheduler.broadcast_gate import BroadcastGate

OFFLINE_TOKEN = "100000:offline-local-chat"

# aiogram reads every Bot API answer as `Response[<the method's result type>]`; pydantic keeps
# such parametrised classes only in a weak cache, so after each garbage collection the class
# is built again (~5–10 ms of CPU on one answer). Held here for the methods the bot uses.
_RESPONSE_TYPES = {
    method.__returning__: Response[method.__returning__]
    for method in (
        methods.SendMessage,
        methods.SendPhoto,
        methods.SendDocument,
        methods.SendChatAction,
        methods.EditMessageText,
        methods.EditMessageCaption,
        methods.EditMessageReplyMarkup,
        methods.DeleteMessage,
        methods.AnswerCallbackQuery,
        methods.AnswerInlineQuery,
        methods.GetMe,
        methods.GetFile,
        methods.GetUpdates,
        methods.SetMyCommands,
        methods.DeleteMyCommands,
    )
}


class Services(TypedDict):
    """Long-lived objects every handler may ask for by parameter name."""

    settings: Settings
    session_maker: async_sessionmaker[AsyncSession]
    i18n: I18n
    metrics: Metrics
    catalogue_search: CatalogueSearch
    offer_cards: OfferCards
    broadcast_gate: BroadcastGate  # Pause/Cancel hold at once (scheduler/broadcast_gate.py)


def create_dispatcher(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage | None = None,
    *,
    redis: Redis | None = None,
    metrics: Metrics | None = None,
    in_flight: InFlightUpdates | None = None,
    catalogue_search: CatalogueSearch | None = None,
    outages: Outages | None = None,
) -> Dispatcher:
    """With `redis`, FSM state, flood control and the update ledger are shared by every process
    (and kept in memory while Redis is away: `outages`, bot/middlewares/outages.py)."""
    text_policy.configure(settings.input_limits)  # the same limits in forms and files
    outages = outages or Outages.of(session_maker)
    storage = storage or create_storage(settings, redis, outages.redis)
    metrics = metrics or Metrics()
    in_flight = in_flight or InFlightUpdates()
    metrics.track_in_flight(in_flight)
    # What the caches keep is forgotten when a transaction writes what they read.
    changes = table_changes(session_maker.kw["bind"])
    services = Services(
        settings=settings,
        session_maker=session_maker,
        i18n=i18n,
        metrics=metrics,
        catalogue_search=catalogue_search or CatalogueSearch(),
        offer_cards=OfferCards(CardCache(changes), CardStates(changes), settings.mini_app_url),
        broadcast_gate=BroadcastGate(),
    )
    dispatcher = Dispatcher(storage=storage, **services)
    # At the door, before any database work (bot/middlewares/guards.py says why in this order).
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(UpdateMetrics(metrics))
    dispatcher.update.outer_middleware(UpdateLogContext())
    dispatcher.update.outer_middleware(
        DuplicateUpdates(create_ledger(redis, settings.redis_prefix, outages.redis))
    )
    flood = create_flood_counter(redis, settings.redis_prefix, settings.flood_limit, outages.redis)
    if flood is not None:
        dispatcher.update.outer_middleware(
            FloodControl(flood, i18n, session_maker, settings.default_locale)
        )
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(session_maker, outages.database))
    dispatcher.update.outer_middleware(ResidentMiddleware(settings, KnownResidents(changes)))
    dispatcher.update.outer_middleware(ResidentI18nMiddleware(i18n))
    if isinstance(storage, ResilientStorage):
        dispatcher.update.outer_middleware(FormsLostNotice(storage.take_lost))
    # A pass, subscriptions, settings: in a private chat only, never posted to a group.
    dispatcher.message.outer_middleware(PersonalInPrivate())
    # Every button press is acknowledged, so no spinner hangs on the resident's phone.
    dispatcher.callback_query.middleware(CallbackAnswerMiddleware())
    dispatcher.callback_query.middleware(LeaveRefusedPressesUnanswered())  # alerts of refusals
    dispatcher.include_routers(*feature_routers())
    return dispatcher


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot for Telegram, a self-hosted Bot API server, or (with `session`) no network."""
    if session is None:
        session = AiohttpSession()
        if settings.bot_api_url:
            session.api = TelegramAPIServer.from_base(settings.bot_api_url.rstrip("/"))
    session.middleware(CommitBeforeSending())
    token = settings.bot_token.get_secret_value() if settings.bot_token else OFFLINE_TOKEN
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
