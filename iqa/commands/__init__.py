"""One module per command group; each imports its libraries inside the command."""
