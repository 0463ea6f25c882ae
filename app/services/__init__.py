"""Use cases. Each receives a session (and the acting principal); none commits."""
