"""Door check-in: passes, the door itself, self check-in, feedback after a session, and a
resident's progress along their track."""
