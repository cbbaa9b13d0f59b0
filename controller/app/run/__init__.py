"""``lockers run``: the daemon, its recorder, health, metrics and supervision."""
