"""The centre of a fleet: PostgreSQL storage of every bank's copied log, and the sync protocol's checks."""
