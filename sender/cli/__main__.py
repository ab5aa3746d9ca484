"""`python -m sender.cli`."""

from sender.cli import main

main()
