"""Pages processing renders on the server, in Indonesian."""
