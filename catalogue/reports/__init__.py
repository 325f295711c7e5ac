"""Reports: what the organisers and the city are told about what happened.

* `attendance`: the attendance report of a session, offer, festival, track or range of days
  (`/report`, `learncity report`): its facts loaded by a few queries, its figures by a pure
  function, and its CSV files.
* `gnlc`: the UNESCO Global Network of Learning Cities pack over a period, built on the
  attendance report's figures, with small cells suppressed before anything is published.
"""
