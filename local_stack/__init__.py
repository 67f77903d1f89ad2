"""What the local stack adds to moto and Chalice's local server: a safe, flat embedded store, one request per thread, writes paced by the trigger."""
