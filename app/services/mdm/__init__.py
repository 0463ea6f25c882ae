"""Apple's MDM protocol over the database: enrolment, check-in, the command queue, push and its jobs."""
