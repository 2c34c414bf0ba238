"""``python -m iqa``: the ``iqa`` command."""
from iqa.cli import main

if __name__ == "__main__":
    main(prog_name="iqa")
