"""Pages audit renders on the server, in Indonesian."""
