"""``python -m iqa``: the ``iqa`` command."""
from iqa.launch import entry

if __name__ == "__main__":
    entry()
