"""Every filter and handler runs on the event loop.

aiogram hands a plain callable (a magic filter such as `F.text`, a bare `State`, a `def`
handler) to a worker thread with `asyncio.to_thread`: a thread hop on every check, dearer than
the check itself, paid by every update that passes the handler on its way down the routers.
"""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject

from bot.filters import Magic
from bot.states import CheckInStates
from handlers import feature_routers


def handlers_of(router: Router) -> list[tuple[str, HandlerObject]]:
    found = []
    for name, observer in router.observers.items():
        found += [(f"{router.name} {name} (router filter)", observer._handler)]
        found += [
            (f"{router.name} {name} {handler.callback.__name__}", handler)
            for handler in observer.handlers
        ]
    return found


def sync_parts(handler: HandlerObject, where: str) -> list[str]:
    # A router's own filters sit on a placeholder handler that is never called.
    placeholder = where.endswith("(router filter)")
    parts = [] if handler.awaitable or placeholder else ["the handler itself"]
    return parts + [repr(item.callback) for item in handler.filters or [] if not item.awaitable]


def test_no_feature_router_has_a_filter_or_handler_that_runs_in_a_thread() -> None:
    offenders = {
        where: parts
        for feature in feature_routers()
        for router in feature.chain_tail
        for where, handler in handlers_of(router)
        if (parts := sync_parts(handler, where))
    }
    assert offenders == {}


def test_the_check_catches_a_magic_filter_and_a_bare_state() -> None:
    router = Router(name="probe")

    @router.message(F.text)
    async def magic(message) -> None: ...

    @router.message(CheckInStates.codes)
    async def state(message) -> None: ...

    @router.message(Magic(F.text))
    async def wrapped(message) -> None: ...

    found = {where: sync_parts(handler, where) for where, handler in handlers_of(router)}
    assert found["probe message magic"]
    assert found["probe message state"]
    assert found["probe message wrapped"] == []
