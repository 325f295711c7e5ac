"""Synonyms as data: groups of words that mean the same to a resident, per language.

A query word finds the offers of every word of its group ("экотропа" → "тропа" → "маршрут"
→ «экомаршрут»). Groups are compared by word form (`catalogue.search.forms`), so one entry
stands for all forms of a word. The migration seeds the obvious ones; a city edits them with
`learncity catalogue synonyms list|add|remove`, and the bot's index picks a change up at its
next rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.search.tables import SearchSynonym
from catalogue.search.text import normalise
from catalogue.search.text import words as text_words

LANGUAGES = ("ru", "en")

# What migration 0006 puts in the table.
SEED: dict[str, list[list[str]]] = {
    "ru": [
        ["тропа", "маршрут", "тропинка"],
        # Both forms where a vowel comes and goes: "бабушки", "бабушек".
        [
            *("пожилые", "пенсионеры", "пенсионерка", "пенсионерок", "60+", "старшее"),
            *("старики", "бабушки", "бабушек", "дедушки", "дедушек"),
        ],
        ["дистанционно", "онлайн", "удаленно", "дистанционный", "вебинар", "интернет"],
        ["рисовать", "рисование", "живопись", "рисунок", "акварель"],
        ["танцевать", "танцы", "танец"],
        ["выступать", "выступление", "публичные", "оратор", "ораторское"],
        ["петь", "пение", "вокал", "хор"],
        ["программировать", "программирование", "кодинг", "программист"],
        ["фотографировать", "фотография", "фото", "фотограф"],
        ["лепить", "лепка", "керамика", "глина", "гончарный"],
        ["дети", "детей", "ребенок", "школьники", "детский"],
        ["подростки", "подростков", "тинейджеры"],
        ["бесплатно", "бесплатный", "даром"],
        ["йога", "растяжка", "гимнастика", "зарядка"],
        ["прогулка", "поход", "экскурсия"],
        ["деньги", "финансы", "бюджет"],
    ],
    "en": [
        ["dance", "dancing", "ballroom"],
        ["seniors", "elderly", "older", "pensioners", "retired", "retirees", "60+"],
        ["online", "remote", "remotely", "distance", "webinar"],
        ["draw", "drawing", "painting", "paint", "sketch"],
        ["trail", "route", "hike", "path"],
        ["speaking", "speech", "oratory", "presentation"],
        ["singing", "sing", "choir", "vocals"],
        ["programming", "coding", "code", "programmer"],
        ["children", "kids", "child", "schoolchildren"],
        ["teenagers", "teens", "teen", "youth"],
        ["free", "gratis"],
        ["walk", "walking", "stroll", "hiking"],
    ],
}


@dataclass(frozen=True)
class SynonymGroup:
    id: int
    language: str
    words: list[str]


def clean_words(given: list[str]) -> list[str]:
    """Normalised entries, without repeats; an entry of no word ("!!") is dropped."""
    kept: list[str] = []
    for entry in given:
        printable = "".join(char for char in normalise(entry) if char.isprintable())
        word = " ".join(printable.split())[:60]
        if text_words(word) and word not in kept:
            kept.append(word)
    return kept


async def synonym_groups(session: AsyncSession, language: str | None = None) -> list[SynonymGroup]:
    query = select(SearchSynonym).order_by(SearchSynonym.language, SearchSynonym.id)
    if language is not None:
        query = query.where(SearchSynonym.language == language)
    return [
        SynonymGroup(row.id, row.language, list(row.words))
        for row in await session.scalars(query)
        if row.id is not None
    ]


async def add_synonyms(session: AsyncSession, language: str, given: list[str]) -> SynonymGroup:
    """Joins the words into one group: the group any of them is in already (groups they join
    are merged), or a new one."""
    new_words = clean_words(given)
    if language not in LANGUAGES or len(new_words) < 1:
        raise ValueError(language if language not in LANGUAGES else "words")
    rows = list(
        await session.scalars(select(SearchSynonym).where(SearchSynonym.language == language))
    )
    joined = [row for row in rows if set(row.words) & set(new_words)]
    if joined:
        keep, *merged = joined
        words = list(keep.words)
        for row in merged:
            words += row.words
            await session.delete(row)
    else:
        keep, words = SearchSynonym(language=language, words=[]), []
        session.add(keep)
    keep.words = list(dict.fromkeys(words + new_words))
    await session.flush()
    assert keep.id is not None
    return SynonymGroup(keep.id, language, keep.words)


async def remove_synonym(session: AsyncSession, language: str, word: str) -> bool:
    """Takes a word out of its group; a group left with one word goes. False: not found."""
    cleaned = clean_words([word])
    rows = list(
        await session.scalars(select(SearchSynonym).where(SearchSynonym.language == language))
    )
    for row in rows:
        if cleaned and cleaned[0] in row.words:
            left = [entry for entry in row.words if entry != cleaned[0]]
            if len(left) < 2:
                await session.execute(delete(SearchSynonym).where(SearchSynonym.id == row.id))
            else:
                row.words = left
            await session.flush()
            return True
    return False


async def synonyms_command(
    session: AsyncSession, change: str, language: str | None, given: list[str]
) -> tuple[int, str]:
    """`learncity catalogue synonyms list|add|remove`: (exit code, what to print)."""
    if language is not None and language not in LANGUAGES:
        return 2, f"Unknown language {language!r}: choose {' or '.join(LANGUAGES)}."
    if change == "list":
        groups = await synonym_groups(session, language)
        lines = [f"{group.language}\t{', '.join(group.words)}" for group in groups]
        return 0, "\n".join(lines) if lines else "No synonyms."
    if language is None:
        return 2, f"Name the language ({' or '.join(LANGUAGES)}) and the words."
    if change == "add":
        if len(clean_words(given)) < 2 and not await _grouped(session, language, given):
            return 2, "Give at least two words that mean the same, e.g.: add ru тропа маршрут"
        group = await add_synonyms(session, language, given)
        return 0, f"{group.language}\t{', '.join(group.words)}"
    if len(given) != 1:
        return 2, "Give the one word to remove, e.g.: remove ru тропинка"
    if await remove_synonym(session, language, given[0]):
        return 0, f"Removed {clean_words(given)[0]!r} from its group."
    return 1, f"{given[0]!r} is in no group of synonyms in {language!r}."


async def _grouped(session: AsyncSession, language: str, given: list[str]) -> bool:
    """Whether one of the words is in a group already (adding one word to it is enough)."""
    words = set(clean_words(given))
    return any(set(group.words) & words for group in await synonym_groups(session, language))
