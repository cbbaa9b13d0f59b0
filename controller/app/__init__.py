"""controller.app."""
