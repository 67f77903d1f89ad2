"""Year-end evaluation: schemes, scoring runs, flags, adjustments, bonus, annual forms, exports,
explanations, announcements and the service-base and support-institution populations."""
