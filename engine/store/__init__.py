"""Infrastructure: the database connection, the relational model and its migrations."""
