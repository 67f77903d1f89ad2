"""The embedded local stack: moto made safe and flat in cost, the stream poller and the schedules."""
