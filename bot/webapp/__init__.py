"""The Mini App: pages under `/app/` and `/programme`, a JSON API under `/api/`, calendar feeds.

`server.py` builds the aiohttp application; `auth.py` checks Telegram's signed initData;
`api_*.py` answer the API from the same `catalogue/` functions as the chat; `pages.py` renders
the pages. The contract is written in docs/mini-app.md.
"""
