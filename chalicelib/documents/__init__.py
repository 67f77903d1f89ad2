"""Filings and publications: their life cycle and review, files in S3, feedback, notifications."""
