"""The centre's Alembic environment and revisions (its own, beside the bank log's ``migrations/``)."""
