"""What residents are told and when, as durable rows: the outbox table, reminders and notices,
reminder preferences and timing, organisers' broadcasts. Sending them is scheduler/'s work."""
