"""The programme as the Mini App and the calendar feeds show it: sessions by day and week,
narrowed by scope and filters, with the seats a resident holds. Read-only queries; seats are
taken and given back through catalogue/seats.py, as the chat does."""
