"""``python -m iqa``: the ``iqa`` command."""
from iqa.cli import entry

if __name__ == "__main__":
    entry()
