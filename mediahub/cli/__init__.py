"""``mediahub``: the command-line client. It speaks only the public HTTP API and imports no Django."""
