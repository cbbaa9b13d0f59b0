"""controller.domain."""
