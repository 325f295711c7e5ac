"""Who came: check-in at the door and what follows from it.

* `tables`: the rows (passes, entries, check-ins, self check-in tokens, feedback);
* `answers`: what a check-in attempt answers, what can stop it, who a code belongs to;
* `passes`: a resident's pass code, made, shown and read back;
* `today`: the sessions a volunteer can open today, and their counts;
* `door`: checking residents in by code or scan, headcounts, `/undo`;
* `self_checkin`: the short-lived QR residents scan to check themselves in;
* `feedback`: the score and comment asked for after an attended session;
* `progress`: a resident's steps along their learning track.
"""
