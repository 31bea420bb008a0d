"""`python -m ocrkit` runs the command-line interface."""
from ocrkit.cli import main

if __name__ == "__main__":
    main()
