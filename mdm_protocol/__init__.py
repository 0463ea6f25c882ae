"""Apple MDM protocol and Google device APIs, free of Flask and SQLAlchemy."""
