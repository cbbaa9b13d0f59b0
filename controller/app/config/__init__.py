"""The one configuration: schema, loading, and where a bank's data lives."""
