"""controller.service.compartments."""
