"""Flokk's certificate authority, the certificates it issued, SCEP, and the APNs push certificate."""
