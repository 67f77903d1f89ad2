"""Year-end evaluation: schemes, scoring runs, flags, adjustments, bonus, annual forms, exports, announcements, populations."""
