"""The learner's record: consented facts, the passport, completion, certificates, the survey.

* `tables`: the rows (its docstring names every table; docs/learning-record.md every column);
* `facts`: the optional facts a resident tells about themselves, asked once, changed at will;
* `tracks`: completion rules set by organisers, `completed_tracks(...)`, recording completion;
* `passport`: the sessions a resident attended and their hours by category and track;
* `certificates`: issuing, verifying and revoking certificates;
* `survey`: what residents want to learn, its offer after the first week, and its aggregate;
* `follow_up`: what check-ins lead to (completions recorded, residents told by the outbox);
* `errors`: the record's refusals (`LearnerError`).
"""
