"""What every capability stands on: the vocabulary, settings and services, the clock, the tables,
errors, HTTP parameters, auth, audit and cycles."""
