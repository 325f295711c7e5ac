"""Catalogue search: quality, build time, memory and latency, beside two PostgreSQL anchors.

    python bench/search.py [--sizes 1000,10000,100000]

Quality: the demo catalogue and the labelled queries of tests/data/search_relevance.tsv and
tests/data/search_kinds.tsv; the top-3 hit rate for each kind of query, of our index (with
Snowball stems, the word forms in use, and with pymorphy3 lemmas instead), of pg_trgm, and of
PostgreSQL full-text search with pg_trgm.

The full-text anchor is the one an engineer would pick instead of our index: titles and
keywords in one column, descriptions, provider, venue, address, festival and track in another;
a `tsvector` of both under the `russian` and the `english` configurations (titles and
keywords weighted A, the rest B) with a GIN index, queried with the OR of the query's words
and ranked by `ts_rank`; then, for typos, pg_trgm on the titles and keywords alone (their
Latin search keys, as for the pg_trgm anchor) with a GiST `gist_trgm_ops` index, ordered by
`<<->` (the word-similarity distance, `<->` for words within a text) and cut at a distance
of 0.6. Full-text matches come first, then trigram ones.

Scale: a synthetic catalogue grown from the demo vocabulary (titles recombined from the
words of two demo titles, keywords from theirs, providers and venues named after demo
ones, three sessions per offer). For each size: the index's load from PostgreSQL and its
build time, its memory (tracemalloc: retained once built, and the peak while building),
query latency p50/p95 with and without filters, the longest queries beside an ordinary
one, the freshness check, and pg_trgm answering the same queries on the same data. This
process is pinned to one CPU core; PostgreSQL runs in its own processes.

pg_trgm is given the same normalised text as our index, the Latin search keys of every
indexed word (`catalogue.search.text`), in a column with a GIN `gin_trgm_ops`
index; it is queried with `<%` and ranked by `word_similarity`, so the comparison is
between the matching engines, not the normalisation. Its threshold is the best of a few
on the quality set.

The run creates a PostgreSQL database of its own and drops it at the end.
Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.exchange.demo import build_demo_document
from catalogue.exchange.seeding import import_demo
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.search import forms
from catalogue.search.engine import GeoPoint
from catalogue.search.engine import SearchFilters
from catalogue.search.engine import When
from catalogue.search.engine import catalogue_version
from catalogue.search.engine import load_snapshot
from catalogue.search.index import FREE_WORDS
from catalogue.search.index import KIND_WORDS
from catalogue.search.index import ONLINE_WORDS
from catalogue.search.index import SearchIndex
from catalogue.search.query import MIN_WORD_CHARS
from catalogue.search.query import analyse_query
from catalogue.search.text import STOP_KEYS
from catalogue.search.text import index_words
from catalogue.search.text import search_key
from catalogue.search.text import words
from catalogue.search.types import CatalogueSnapshot

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
RELEVANCE_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "search_relevance.tsv"
KINDS_SET = RELEVANCE_SET.with_name("search_kinds.tsv")
CITY = ZoneInfo("Asia/Yekaterinburg")
CITY_CENTRE = GeoPoint(56.5016, 60.8197)
FILTERS = SearchFilters(when=When.THIS_MONTH, free_only=True, near=CITY_CENTRE)
TRGM_THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
TRGM_QUERY = """
    SELECT offer_id FROM search_document
    WHERE $1 <% body
    ORDER BY word_similarity($1, body) DESC, offer_id
    LIMIT $2
"""
FULL_TEXT_QUERY = """
    WITH words AS (
        SELECT to_tsquery('russian', $1) || to_tsquery('english', $1) AS query
    ), full_text AS (
        SELECT offer_id, 1 + ts_rank(document, words.query) AS score
        FROM search_fulltext, words
        WHERE document @@ words.query
        ORDER BY score DESC
        LIMIT $3
    ), trigrams AS (
        SELECT offer_id, 1 - ($2 <<-> names) AS score
        FROM search_fulltext
        WHERE $2 <> ''
        ORDER BY $2 <<-> names
        LIMIT $3
    )
    SELECT offer_id FROM (
        SELECT * FROM full_text UNION ALL SELECT * FROM trigrams WHERE score >= 0.4
    ) AS found
    GROUP BY offer_id
    ORDER BY max(score) DESC, offer_id
    LIMIT $3
"""
# pg_trgm takes seconds a query at 100k offers: it answers every n-th labelled query.
TRGM_SAMPLE = 60
TOP = 3
LIMIT = 10
REPEATS = 3
VERSION_CHECKS = 20
SESSIONS_PER_OFFER = 3
TABLES = "offer_session, track_step, track, offer, festival, venue, provider, category"
MB = 1024 * 1024


# ---------------------------------------------------------------- queries and timing


def relevance_set() -> list[tuple[str, set[str]]]:
    return [(query, expected) for _, query, expected in labelled_set()]


def labelled_set() -> list[tuple[str, str, set[str]]]:
    """(kind, query, ids of the offers that answer it) of both labelled files."""
    found = []
    for path in (RELEVANCE_SET, KINDS_SET):
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [line.split("\t") for line in lines if line and not line.startswith("#")][1:]
        found += [(kind, query, set(expected.split())) for kind, query, expected in rows]
    return found


def longest_queries() -> list[str]:
    """4096 characters each: many distinct words, one endless word, one word repeated."""
    rng = random.Random(7)
    letters = "абвгдежзиклмнопрстуфхцчшщэюя"
    many_words = " ".join("".join(rng.choices(letters, k=rng.randint(4, 14))) for _ in range(600))
    return [many_words[:4096], ("керамика" * 512)[:4096], ("english " * 512)[:4096]]


def trigram_text(query: str) -> str:
    return " ".join(analyse_query(query).keys)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3)}


def timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def search_latency(index: SearchIndex, queries: list[str], filters: SearchFilters) -> list[float]:
    now = datetime.now(UTC)
    for query in queries:  # warm-up
        index.search(query, filters, now=now, zone=CITY, limit=LIMIT)
    return [
        timed_ms(lambda query=query: index.search(query, filters, now=now, zone=CITY, limit=LIMIT))
        for _ in range(REPEATS)
        for query in queries
    ]


# ---------------------------------------------------------------- pg_trgm


def trigram_documents(snapshot: CatalogueSnapshot) -> list[tuple[int, str]]:
    """(offer id, text) with what our index holds: titles, keywords, provider, venues, and
    the words for the offer's kind, format and price."""
    venue_names = {venue.id: venue.name for venue in snapshot.venues}
    offer_venues: dict[int, set[int]] = {}
    for session in snapshot.sessions:
        if session.venue_id is not None:
            offer_venues.setdefault(session.offer_id, set()).add(session.venue_id)
    documents = []
    for offer in snapshot.offers:
        texts = [*offer.title.values(), *offer.keywords, KIND_WORDS[offer.kind]]
        texts += [ONLINE_WORDS] if offer.format != OfferFormat.IN_PERSON else []
        texts += [FREE_WORDS] if offer.price_minor == 0 else []
        texts += snapshot.provider_names.get(offer.provider_id, {}).values()
        for venue_id in offer_venues.get(offer.id, ()):
            texts += venue_names[venue_id].values()
        words = (word for text in texts for word in index_words(text))
        keys = (search_key(word) for word in words if len(word) >= MIN_WORD_CHARS)
        documents.append((offer.id, " ".join(key for key in keys if key not in STOP_KEYS)))
    return documents


async def index_for_trigrams(connection: asyncpg.Connection, snapshot: CatalogueSnapshot) -> float:
    """Seconds to create the GIN index, after loading the documents."""
    await connection.execute(
        "DROP TABLE IF EXISTS search_document;"
        "CREATE TABLE search_document (offer_id integer PRIMARY KEY, body text NOT NULL)"
    )
    await connection.copy_records_to_table("search_document", records=trigram_documents(snapshot))
    started = time.perf_counter()
    await connection.execute(
        "CREATE INDEX search_document_body ON search_document USING gin (body gin_trgm_ops);"
        "ANALYZE search_document"
    )
    return time.perf_counter() - started


def full_text_documents(snapshot: CatalogueSnapshot) -> list[tuple[int, str, str, str]]:
    """(offer id, titles and keywords, everything else, the Latin keys of the first)."""
    venues = {venue.id: venue for venue in snapshot.venues}
    offer_venues: dict[int, set[int]] = {}
    for session in snapshot.sessions:
        if session.venue_id is not None:
            offer_venues.setdefault(session.offer_id, set()).add(session.venue_id)
    tracks: dict[int, list[str]] = {}
    for row in snapshot.tracks:
        tracks.setdefault(row.offer_id, []).extend(
            [
                *snapshot.track_titles.get(row.track_id, {}).values(),
                *snapshot.category_titles.get(row.category_id, {}).values(),
            ]
        )
    documents = []
    for offer in snapshot.offers:
        names = " ".join([*offer.title.values(), *offer.keywords])
        rest = [*offer.description.values(), KIND_WORDS[offer.kind]]
        rest += [ONLINE_WORDS] if offer.format != OfferFormat.IN_PERSON else []
        rest += [FREE_WORDS] if offer.price_minor == 0 else []
        rest += snapshot.provider_names.get(offer.provider_id, {}).values()
        rest += snapshot.festival_titles.get(offer.festival_id or 0, {}).values()
        rest += tracks.get(offer.id, [])
        for venue_id in offer_venues.get(offer.id, ()):
            rest += [*venues[venue_id].name.values(), *venues[venue_id].address.values()]
        keys = " ".join(search_key(word) for word in index_words(names))
        documents.append((offer.id, names, " ".join(rest), keys))
    return documents


async def index_for_full_text(connection: asyncpg.Connection, snapshot: CatalogueSnapshot) -> float:
    """Seconds to build the tsvectors and both indexes, after loading the documents."""
    await connection.execute(
        "DROP TABLE IF EXISTS search_fulltext;"
        "CREATE TABLE search_fulltext (offer_id integer PRIMARY KEY, titles text NOT NULL,"
        " rest text NOT NULL, names text NOT NULL, document tsvector)"
    )
    await connection.copy_records_to_table(
        "search_fulltext",
        records=full_text_documents(snapshot),
        columns=["offer_id", "titles", "rest", "names"],
    )
    started = time.perf_counter()
    await connection.execute(
        "UPDATE search_fulltext SET document ="
        " setweight(to_tsvector('russian', titles), 'A')"
        " || setweight(to_tsvector('english', titles), 'A')"
        " || setweight(to_tsvector('russian', rest), 'B')"
        " || setweight(to_tsvector('english', rest), 'B');"
        "CREATE INDEX search_fulltext_document ON search_fulltext USING gin (document);"
        "CREATE INDEX search_fulltext_names ON search_fulltext USING gist (names gist_trgm_ops);"
        "ANALYZE search_fulltext"
    )
    return time.perf_counter() - started


def full_text_words(query: str) -> tuple[str, str]:
    """The query's words OR-ed as a tsquery, and their Latin keys for pg_trgm."""
    found = [word for word in words(query[:200]) if word.isalnum()][:8]
    return " | ".join(found), trigram_text(query)


async def full_text_search(connection: asyncpg.Connection, query: str, limit: int) -> list[int]:
    tsquery, keys = full_text_words(query)
    if not tsquery and not keys:
        return []
    rows = await connection.fetch(FULL_TEXT_QUERY, tsquery, keys, limit)
    return [row["offer_id"] for row in rows]


async def trigram_search(connection: asyncpg.Connection, query: str, limit: int) -> list[int]:
    text = trigram_text(query)
    if not text:
        return []
    return [row["offer_id"] for row in await connection.fetch(TRGM_QUERY, text, limit)]


async def anchor_latency(
    connection: asyncpg.Connection, queries: list[str], search: Callable
) -> list[float]:
    """Milliseconds per query of a PostgreSQL anchor."""
    for query in queries[:5]:  # warm-up
        await search(connection, query, LIMIT)
    samples = []
    for query in queries:
        started = time.perf_counter()
        await search(connection, query, LIMIT)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# ---------------------------------------------------------------- quality on the demo


async def measure_quality(
    session_maker: async_sessionmaker[AsyncSession], connection: asyncpg.Connection
) -> dict:
    await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    async with session_maker.begin() as session:
        await import_demo(session, datetime.now(CITY).date(), CITY)
    async with session_maker() as session:
        snapshot = await load_snapshot(session)
        names = dict((await session.execute(select(Offer.id, Offer.external_id))).all())
    queries = labelled_set()
    now = datetime.now(UTC)

    def by_kind(top: dict[str, list[int]]) -> dict[str, float]:
        found: dict[str, list[bool]] = {}
        for kind, query, expected in queries:
            found.setdefault(kind, []).append(bool(expected & {names[i] for i in top[query]}))
        rates = {kind: round(sum(hits) / len(hits), 3) for kind, hits in found.items()}
        rates["overall"] = round(sum(map(sum, found.values())) / len(queries), 4)
        return rates

    def ours() -> dict[str, float]:
        index = SearchIndex.build(snapshot)
        found = {}
        for _, query, _ in queries:
            hits = index.search(query, now=now, zone=CITY, limit=TOP).hits
            found[query] = [hit.offer_id for hit in hits]
        return by_kind(found)

    forms.use(forms.PYMORPHY)
    with_lemmas = ours()
    forms.use(forms.SNOWBALL)
    with_stems = ours()
    await index_for_trigrams(connection, snapshot)
    trigram_rates = {}
    for threshold in TRGM_THRESHOLDS:
        await connection.execute(f"SET pg_trgm.word_similarity_threshold = {threshold}")
        found = {query: await trigram_search(connection, query, TOP) for _, query, _ in queries}
        trigram_rates[threshold] = by_kind(found)
    best_threshold = max(trigram_rates, key=lambda t: trigram_rates[t]["overall"])
    await connection.execute(f"SET pg_trgm.word_similarity_threshold = {best_threshold}")
    await index_for_full_text(connection, snapshot)
    full_text = by_kind(
        {query: await full_text_search(connection, query, TOP) for _, query, _ in queries}
    )
    return {
        "queries": len(queries),
        "offers": len(snapshot.offers),
        "ours_top3_hit_rate": with_stems,
        "ours_with_pymorphy_lemmas": with_lemmas,
        "pg_trgm_top3_hit_rate": trigram_rates[best_threshold],
        "pg_trgm_threshold": best_threshold,
        "pg_full_text_top3_hit_rate": full_text,
    }


# ---------------------------------------------------------------- scale on synthetic data


def synthetic_catalogue(size: int, demo: dict, now: datetime) -> dict[str, list[tuple]]:
    """COPY records for provider, venue, offer and offer_session, seeded by `size`."""
    rng = random.Random(size)

    def renamed(names: list[dict[str, str]], number: int) -> str:
        name = rng.choice(names)
        return json.dumps({lang: f"{text} {number}" for lang, text in name.items()})

    provider_names = [provider["name"] for provider in demo["providers"]]
    venue_names = [venue["name"] for venue in demo["venues"]]
    providers = [
        (number, f"provider-{number}", renamed(provider_names, number), None)
        for number in range(1, max(size // 50, 2) + 1)
    ]
    venues = [
        (
            number,
            f"venue-{number}",
            renamed(venue_names, number),
            "{}",
            None,
            CITY_CENTRE.latitude + rng.uniform(-0.05, 0.05),
            CITY_CENTRE.longitude + rng.uniform(-0.08, 0.08),
            rng.random() < 0.6,
            "{}",
        )
        for number in range(1, max(size // 100, 2) + 1)
    ]
    offers, sessions = [], []
    for number in range(1, size + 1):
        parents = rng.sample(demo["offers"], 2)
        model = parents[0]
        title = {lang: mixed_title(rng, parents, lang) for lang in ("en", "ru")}
        description = {lang: mixed_description(rng, parents, lang) for lang in ("en", "ru")}
        keywords = [keyword for parent in parents for keyword in parent.get("keywords", [])]
        offer_format = model.get("format", OfferFormat.IN_PERSON.value)
        offers.append(
            (
                number,
                f"offer-{number}",
                json.dumps(title),
                json.dumps(description, ensure_ascii=False),
                model["kind"],
                offer_format,
                model.get("language", "ru"),
                rng.randrange(len(providers)) + 1,
                None,
                model.get("age_min"),
                model.get("age_max"),
                round(model.get("price", 0) * 100),
                "RUB",
                "{}",
                json.dumps(rng.sample(keywords, k=min(len(keywords), 6))),
                now,
            )
        )
        for _ in range(SESSIONS_PER_OFFER):
            starts_at = now + timedelta(days=rng.randint(0, 60), hours=rng.randint(1, 12))
            online = offer_format == OfferFormat.ONLINE
            venue = None if online else rng.randrange(len(venues)) + 1
            session_number = len(sessions) + 1
            sessions.append(
                (
                    session_number,
                    f"session-{session_number}",
                    number,
                    venue,
                    starts_at,
                    starts_at + timedelta(hours=1, minutes=30),
                    "scheduled",
                )
            )
    return {"provider": providers, "venue": venues, "offer": offers, "offer_session": sessions}


def mixed_description(rng: random.Random, parents: list[dict], lang: str) -> str:
    words = [word for parent in parents for word in parent["description"][lang].split()]
    return " ".join(rng.sample(words, k=min(len(words), rng.randint(15, 30))))


def mixed_title(rng: random.Random, parents: list[dict], lang: str) -> str:
    words = [word for parent in parents for word in parent["title"][lang].split()]
    return " ".join(rng.sample(words, k=min(len(words), rng.randint(3, 6))))


COLUMNS = {
    "provider": ["id", "external_id", "name", "website"],
    "venue": [
        "id",
        "external_id",
        "name",
        "address",
        "district",
        "latitude",
        "longitude",
        "step_free",
        "accessibility",
    ],
    "offer": [
        "id",
        "external_id",
        "title",
        "description",
        "kind",
        "format",
        "language",
        "provider_id",
        "festival_id",
        "age_min",
        "age_max",
        "price_minor",
        "currency",
        "accessibility",
        "keywords",
        "updated_at",
    ],
    "offer_session": [
        "id",
        "external_id",
        "offer_id",
        "venue_id",
        "starts_at",
        "ends_at",
        "status",
    ],
}


async def measure_size(
    size: int,
    demo: dict,
    session_maker: async_sessionmaker[AsyncSession],
    connection: asyncpg.Connection,
) -> dict:
    await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    for table, records in synthetic_catalogue(size, demo, datetime.now(UTC)).items():
        await connection.copy_records_to_table(table, records=records, columns=COLUMNS[table])
    await connection.execute("ANALYZE")

    async with session_maker() as session:
        started = time.perf_counter()
        snapshot = await load_snapshot(session)
        load_s = time.perf_counter() - started
        version_ms = []
        for _ in range(VERSION_CHECKS):
            started = time.perf_counter()
            await catalogue_version(session)
            version_ms.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    index = SearchIndex.build(snapshot)
    build_s = time.perf_counter() - started

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    measured = SearchIndex.build(snapshot)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del measured

    queries = [query for query, _ in relevance_set()]
    plain = search_latency(index, queries, SearchFilters())
    filtered = search_latency(index, queries, FILTERS)
    # Each 4096-character query by its median, against the median ordinary query.
    longest = [
        statistics.median(search_latency(index, [query] * 3, SearchFilters()))
        for query in longest_queries()
    ]
    trigram_index_s = await index_for_trigrams(connection, snapshot)
    sample = queries[:: len(queries) // TRGM_SAMPLE]
    trigram = await anchor_latency(connection, sample, trigram_search)
    full_text_index_s = await index_for_full_text(connection, snapshot)
    full_text = await anchor_latency(connection, queries, full_text_search)
    return {
        "offers": size,
        "sessions": len(snapshot.sessions),
        "vocabulary": len(index.vocabulary.keys),
        "postings": int(index.posting_offers.size),
        "load_s": round(load_s, 3),
        "build_s": round(build_s, 3),
        "index_mb": round((retained - before) / MB, 1),
        "build_peak_mb": round((peak - before) / MB, 1),
        "query_ms": percentiles(plain),
        "filtered_query_ms": percentiles(filtered),
        "longest_query_ms": round(max(longest), 3),
        "longest_to_ordinary": round(max(longest) / statistics.median(plain), 1),
        "version_check_ms": round(statistics.median(version_ms), 3),
        "pg_trgm_index_s": round(trigram_index_s, 3),
        "pg_trgm_query_ms": percentiles(trigram),
        "pg_full_text_index_s": round(full_text_index_s, 3),
        "pg_full_text_query_ms": percentiles(full_text),
    }


# ---------------------------------------------------------------- the run


async def run(sizes: list[int]) -> dict:
    async with scratch_database("learncity_bench_search", admin_dsn=POSTGRES_ADMIN_DSN) as url:
        engine = create_engine(url)
        connection = None
        try:
            await apply_migrations(engine)
            session_maker = create_session_maker(engine)
            connection = await asyncpg.connect(url.replace("+asyncpg", ""))
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            quality = await measure_quality(session_maker, connection)
            print(
                f"top-3 hit rate on {quality['queries']} queries, {quality['offers']} demo offers "
                f"(pg_trgm threshold {quality['pg_trgm_threshold']}):"
            )
            anchors = {
                "ours": quality["ours_top3_hit_rate"],
                "ours, pymorphy3": quality["ours_with_pymorphy_lemmas"],
                "pg full text+trgm": quality["pg_full_text_top3_hit_rate"],
                "pg_trgm": quality["pg_trgm_top3_hit_rate"],
            }
            kinds = list(quality["ours_top3_hit_rate"])
            print(f"{'kind':12}" + "".join(f"{name:>19}" for name in anchors))
            for kind in kinds:
                print(f"{kind:12}" + "".join(f"{rates[kind]:>19.3f}" for rates in anchors.values()))
            sys.stdout.flush()
            demo = build_demo_document(datetime.now(CITY).date(), CITY)
            results = []
            for size in sizes:
                figures = await measure_size(size, demo, session_maker, connection)
                results.append(figures)
                print(
                    f"{size:>7} offers: load {figures['load_s']}s, build {figures['build_s']}s, "
                    f"index {figures['index_mb']} MB (peak {figures['build_peak_mb']} MB), "
                    f"query {figures['query_ms']} ms, filtered {figures['filtered_query_ms']} ms, "
                    f"longest x{figures['longest_to_ordinary']}; "
                    f"pg full text+trgm {figures['pg_full_text_query_ms']} ms, "
                    f"pg_trgm {figures['pg_trgm_query_ms']} ms",
                    flush=True,
                )
            postgres = await connection.fetchval("SHOW server_version")
        finally:
            if connection is not None:
                await connection.close()
            await engine.dispose()
    return {"postgres": postgres, "one_core": True, "quality": quality, "sizes": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated catalogue sizes (default: %(default)s)",
    )
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",") if size.strip()]
    # One core for the index, as it would have in the bot's process.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(json.dumps(asyncio.run(run(sizes)), ensure_ascii=False))


if __name__ == "__main__":
    main()
