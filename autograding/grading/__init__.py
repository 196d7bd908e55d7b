"""A batch: discover submissions, sanitize them with nbgrader, execute, score, record, resume."""
