"""A fleet's centre (sync endpoint, heartbeats, fleet API, central audit) and what a bank needs to talk to it."""
