"""``python -m controller`` is the ``lockers`` command."""

from controller.app.cli import main

main()
