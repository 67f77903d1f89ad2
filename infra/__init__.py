"""Deployable AWS resources, declared once and used by local runs and tests too."""
