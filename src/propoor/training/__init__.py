"""E-commerce training for farmers (paper §4.2): courses, cohorts, certificates."""
