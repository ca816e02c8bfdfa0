"""``python -m tokenworks`` runs the CLI (the same as the ``tokenworks`` console script)."""

from tokenworks.cli.main import main

main()
