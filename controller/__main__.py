"""``python -m controller`` is the ``lockers`` command."""

from controller.cli import main

main()
