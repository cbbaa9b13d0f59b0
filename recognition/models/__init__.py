"""Face descriptor networks and their weights: ports, registry, model cards, fusion."""
