"""The HTTP layer: each capability's routes as a Chalice blueprint, and the plumbing they share.
The only package that imports Chalice; app.py registers the blueprints."""
