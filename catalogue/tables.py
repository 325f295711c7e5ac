"""Every module that defines tables, imported in one place so migrations see them all."""

import catalogue.checkin.device_scans
import catalogue.checkin.tables
import catalogue.learners.tables
import catalogue.models
import catalogue.outbox.broadcasts
import catalogue.outbox.messages
import catalogue.search.tables
import catalogue.seats
import catalogue.subscriptions
import catalogue.team  # noqa: F401
