"""Reports for the UNESCO Global Network of Learning Cities, beside the attendance report
(`catalogue/reports.py`, which they reuse).

* `gnlc`: the GNLC report pack's facts (aggregate queries over a period) and its figures and
  tables (pure functions), with small cells suppressed before anything is published.
"""
