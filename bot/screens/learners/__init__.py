"""Screens of the learning record: about me, the passport, certificates (and their PDF), the
survey, and the words for the record's refusals."""
