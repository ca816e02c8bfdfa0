"""``python -m tokenworks.cli`` runs the CLI (same as the ``tokenworks`` console script)."""

from tokenworks.cli.main import main

main()
