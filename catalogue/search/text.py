"""Words of catalogue texts and of residents' queries, folded so that spellings meet; and
queries typed with the wrong keyboard layout read back.

Every word gets a *search key*: a Latin spelling in which the usual ways of writing a
Russian word in Latin letters coincide. "английский", "anglijskij", "angliyskiy" and
"angliiskii" all become "angliski", so a query in either script meets titles in both, and
fuzzy matching only has to absorb real typos.

Why a table of our own: the transliteration libraries (`transliterate`, `cyrtranslit`,
`unidecode`) each produce one romanisation and read back only their own, while residents
mix them: `transliterate` turns "angliyskiy" into "англиыскиы", `cyrtranslit` turns
"jarmarka" into "жармарка". Folding both scripts into one key needs no reverse direction.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Words that never decide what a resident is looking for. Compared by search key, so the
# Latin spellings of the Russian ones ("dlya", "dlja") are stop words too.
STOP_WORDS = frozenset(
    """
    a an and are as at by for from how i in into is me my of on or our the to what with you your
    в во на с со к ко по за из от до о об у и а или для при про как что это мой свой все всех
    хочу где когда
    """.split()  # noqa: SIM905 (a list literal of 57 words is harder to read)
)
# Words of a question or a wish around what a resident looks for: "где научиться рисовать",
# "хочу пойти на курсы", "how to learn drawing". They are searched only when a query has
# nothing else; otherwise they neither rank offers nor match titles that merely contain them
# ("Научи тому, что умеешь"). Compared by word form (`catalogue.search.forms`), so
# "научиться", "научусь" and "научился" are one word here.
WEAK_WORDS = frozenset(
    """
    хочу хотел хотела хотим хотелось бы можно ли нужно надо есть какие какой какая какое
    куда кто чему чем зачем почему сколько найти ищу искать пойти сходить записаться попасть
    научиться учиться научить изучать изучить освоить узнать заниматься занятия занятие
    мне нам себя себе ребенка ребенку сыну дочке ваш ваши там тут здесь сейчас очень стать
    учат обучают научат записать люди людей людям человек начать начинать
    learn learning study studying want would like can could where which who find looking
    lessons classes class take join do does doing get some any there near me please become
    teach teaches people person start starting
    """.split()  # noqa: SIM905
)

# One Latin spelling per Cyrillic letter, already in the folded form of `_LATIN_FOLDS`.
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "ch",
        "ш": "sh",
        "щ": "sh",
        "ъ": "",
        "ы": "i",
        "ь": "",
        "э": "e",
        "ю": "iu",
        "я": "ia",
        "і": "i",
        "ї": "i",
        "є": "e",
        "ґ": "g",
    }
)
# Latin letter groups residents use for one Russian sound: "shch"/"sch" for щ, "kh" for х,
# "ts"/"tz" for ц, "j"/"y" for й and ы (and in "ya"/"ja", "yu"/"ju" for я, ю).
_LATIN_FOLDS = {
    "shch": "sh",
    "sch": "sh",
    "tch": "ch",
    "kh": "h",
    "ts": "c",
    "tz": "c",
    "ph": "f",
    "ck": "k",
    "x": "ks",
    "w": "v",
    "q": "k",
    "j": "i",
    "y": "i",
}
_LATIN_FOLD = re.compile("|".join(sorted(_LATIN_FOLDS, key=len, reverse=True)))
_REPEATS = re.compile(r"(.)\1+")
# A word is a run of letters and digits; hyphens and apostrophes inside it join parts.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_JOINERS = re.compile(r"['’\-]")
# Endings of Russian declension in search-key spelling, so "пенсионерам" and "пенсионеры",
# "игра" and "игры", "английского" and "английский" share a stem: "-ого", "-ому", "-ами",
# "-ах", "-ов", plain vowels. Crude, but it only has to map inflections of a word together.
_ENDING = re.compile(r"(?:[aeiou]*[gm][aeiou]|[aeiou]+(?:mi|m|h|v)?)$")
_MIN_STEM = 3


def normalise(text: str) -> str:
    """Compatibility forms unified, case folded, ё read as е."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of `text` in normalised spelling, in order; hyphenated words stay whole."""
    return _WORD.findall(normalise(text))


def index_words(text: str) -> list[str]:
    """Words to index: each part of a hyphenated word and the parts run together, so
    "арт-объект" is found by "арт", by "объект" and by "артобъект"."""
    found: list[str] = []
    for word in words(text):
        parts = _JOINERS.split(word)
        found += parts
        if len(parts) > 1:
            found.append("".join(parts))
        for part in parts:
            found += compound_parts(part)
    return found


def query_words(text: str) -> list[str]:
    """The parts of every word, in order ("3d-печать" is "3d" and "печать")."""
    return [part for word in words(text) for part in _JOINERS.split(word)]


@lru_cache(maxsize=1 << 16)
def search_key(word: str) -> str:
    """The Latin search key of a normalised word; see the module docstring."""
    decomposed = unicodedata.normalize("NFKD", word)
    # Accents go: "café" is "cafe"; "й" loses its breve but maps like "и" anyway.
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    latin = bare.translate(_CYRILLIC_TO_LATIN)
    folded = _LATIN_FOLD.sub(lambda match: _LATIN_FOLDS[match.group()], latin)
    return _REPEATS.sub(r"\1", folded)


def stem(key: str) -> str | None:
    """A search key without its declension ending, or None when too little would be left."""
    if len(key) <= _MIN_STEM:
        return None
    stemmed = _ENDING.sub("", key, count=1)
    return stemmed if len(stemmed) >= _MIN_STEM else None


STOP_KEYS = frozenset(search_key(word) for word in STOP_WORDS)


def is_cyrillic(text: str) -> bool:
    return any("а" <= char <= "я" for char in normalise(text))


# ---------------------------------------------------------------- the wrong keyboard layout

# The Russian ЙЦУКЕН keys over the English QWERTY ones: "hj,jnjnt[ybrf" typed with the
# English layout on is "робототехника", "сруыы" typed with the Russian layout is "chess".
_QWERTY = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./" + '~QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>?'
_JCUKEN = "ёйцукенгшщзхъфывапролджэячсмитьбю." + "ЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,"
_TO_CYRILLIC = str.maketrans(_QWERTY, _JCUKEN)
_TO_LATIN = str.maketrans(_JCUKEN[:-1] + _JCUKEN[34:-1], _QWERTY[:-1] + _QWERTY[34:-1])


def other_layout(text: str) -> str | None:
    """`text` as it would read had it been typed with the other keyboard layout, or None
    when it mixes scripts or has no letters (nothing to read another way)."""
    latin = any("a" <= char <= "z" for char in text.casefold())
    cyrillic = is_cyrillic(text)
    if latin == cyrillic:
        return None
    return text.translate(_TO_CYRILLIC if latin else _TO_LATIN)


# ---------------------------------------------------------------- compound words

# Combining forms that start compound words: "экотропа" is "эко" + "тропа", "фотопрогулка"
# is "фото" + "прогулка". A word that starts with one is also indexed and searched as its
# two parts, so "экотропа" meets "экомаршрут" through "эко" and a synonym of "тропа".
COMBINING_FORMS = (
    "эко", "био", "гео", "арт", "фото", "видео", "аудио", "авто", "агро", "техно", "медиа",
    "мини", "микро", "макро", "нейро", "кибер", "мульти", "бизнес", "кино", "теле", "радио",
    "eco", "bio", "geo", "art", "photo", "video", "audio", "auto", "agro", "techno", "media",
    "mini", "micro", "macro", "neuro", "cyber", "multi", "tele", "radio",
)  # fmt: skip
_MIN_COMPOUND_REST = 4


_COMPOUND = re.compile(
    "^({})(.{{{},}})$".format(
        "|".join(sorted(COMBINING_FORMS, key=len, reverse=True)), _MIN_COMPOUND_REST
    )
)


@lru_cache(maxsize=1 << 16)
def compound_parts(word: str) -> list[str]:
    """The combining form and the rest of a compound word, or [] when it is not one."""
    match = _COMPOUND.match(word)
    return list(match.groups()) if match else []
