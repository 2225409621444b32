"""Reads for training pages and the API, scoped once here (``learner``, ``staff``)."""
