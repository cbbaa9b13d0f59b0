"""``python -m controller`` is the ``lockers`` command."""

from controller.app.cli.main import main

main()
