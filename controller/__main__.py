"""`python -m controller` is the `podyard` command."""

from controller.cli import main

raise SystemExit(main())
