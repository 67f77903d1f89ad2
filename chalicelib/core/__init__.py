"""What every capability stands on: settings, the clock, the tables, errors, HTTP parameters, auth, audit, cycles."""
