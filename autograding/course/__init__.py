"""The course itself: releasing the student notebooks, their course cells, nbgrader's exchange."""
