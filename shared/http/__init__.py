"""The HTTP pieces every service's API shares: the app's assembly (`app`), the one shape of
error answers (`error_bodies`), and the limits requests are read within (`middleware`)."""
